/** Everything a build tells the person watching it. One formatter per output kind. */
export type ProgressEvent =
  | { kind: 'step-start'; step: string }
  | { kind: 'step-status'; step: string; text: string; milestone?: boolean }
  | { kind: 'step-done'; step: string; seconds: number; outcome: 'cached' | 'built' | 'passed' | 'pushed' | 'signed' | 'verified'; detail?: string }
  | { kind: 'step-failed'; step: string; seconds: number }
  | { kind: 'info'; text: string };

export type Reporter = (event: ProgressEvent) => void;

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Terminal: one live status line per running step, a summary line when it ends. */
export function createTerminalReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  const started = new Map<string, number>();
  let frame = 0;
  let lastDraw = 0;
  const clear = () => stream.write('\r\x1b[K');
  return (event) => {
    switch (event.kind) {
      case 'step-start':
        started.set(event.step, Date.now());
        return;
      case 'step-status': {
        const now = Date.now();
        if (now - lastDraw < 80 && !event.milestone) return;
        lastDraw = now;
        const seconds = ((now - (started.get(event.step) ?? now)) / 1000).toFixed(0);
        const width = (stream.columns ?? 100) - event.step.length - 12;
        clear();
        stream.write(`${spinner[frame++ % spinner.length]} ${event.step} ${seconds}s ${event.text.slice(0, Math.max(10, width))}`);
        return;
      }
      case 'step-done':
        clear();
        stream.write(`✓ ${event.step}: ${event.outcome} in ${event.seconds.toFixed(1)}s${event.detail ? ` (${event.detail})` : ''}\n`);
        return;
      case 'step-failed':
        clear();
        stream.write(`✗ ${event.step}: failed after ${event.seconds.toFixed(1)}s\n`);
        return;
      case 'info':
        clear();
        stream.write(`${event.text}\n`);
    }
  };
}

/** CI and pipes: plain lines stamped with the time since start; only milestones, not every output line. */
export function createPlainReporter(stream: NodeJS.WritableStream = process.stderr, start = Date.now()): Reporter {
  const stamp = () => `[${((Date.now() - start) / 1000).toFixed(1).padStart(7)}s]`;
  return (event) => {
    switch (event.kind) {
      case 'step-start':
        stream.write(`${stamp()} ${event.step}: started\n`);
        return;
      case 'step-status':
        if (event.milestone) stream.write(`${stamp()} ${event.step}: ${event.text}\n`);
        return;
      case 'step-done':
        stream.write(`${stamp()} ${event.step}: ${event.outcome} in ${event.seconds.toFixed(1)}s${event.detail ? ` (${event.detail})` : ''}\n`);
        return;
      case 'step-failed':
        stream.write(`${stamp()} ${event.step}: failed after ${event.seconds.toFixed(1)}s\n`);
        return;
      case 'info':
        stream.write(`${stamp()} ${event.text}\n`);
    }
  };
}

export function createReporter(): Reporter {
  const interactive = process.stderr.isTTY && !process.env.CI;
  return interactive ? createTerminalReporter() : createPlainReporter();
}
