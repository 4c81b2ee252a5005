import { UserError } from '../../errors.js';

// cosign's own variable: one setting serves both the cosign CLI and ros-build.
export const PASSPHRASE_ENV = 'COSIGN_PASSWORD';

/** Where a passphrase can come from; the defaults are the process's, tests pass their own. */
export interface PassphraseSources {
  env?: NodeJS.ProcessEnv;
  input?: TerminalInput;
  output?: NodeJS.WritableStream;
}

/** The little of a TTY stdin that a hidden prompt needs. */
export interface TerminalInput extends NodeJS.EventEmitter {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  resume(): unknown;
  pause(): unknown;
  unshift(chunk: string, encoding?: BufferEncoding): void;
}

/**
 * The passphrase of the key at `keyPath`: COSIGN_PASSWORD when it is set (even to
 * the empty string, which cosign accepts as a passphrase), else typed on the
 * terminal without echo, twice when `confirm` (a new key).
 */
export async function readPassphrase(
  purpose: { confirm: boolean; keyPath: string },
  sources: PassphraseSources = {},
): Promise<string> {
  const env = sources.env ?? process.env;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined) return fromEnv;

  const input = sources.input ?? process.stdin;
  const output = sources.output ?? process.stderr;
  if (!input.isTTY || !input.setRawMode) {
    throw new UserError(
      `no passphrase for ${purpose.keyPath}: set ${PASSPHRASE_ENV} or run in a terminal`,
      `for example: ${PASSPHRASE_ENV}="$(cat secret-file)" ros-build ...`,
    );
  }
  const passphrase = await readHiddenLine(input, output, `Enter passphrase for ${purpose.keyPath}: `);
  if (!purpose.confirm) return passphrase;
  const again = await readHiddenLine(input, output, `Enter passphrase for ${purpose.keyPath} again: `);
  if (again !== passphrase) throw new UserError('the two passphrases typed differ', 'run the command again and type the same passphrase at both prompts');
  return passphrase;
}

/**
 * Raw mode swallows the terminal's Ctrl-C, so act as the signal would. A handler
 * (cleanups, exit 130) is called at once rather than signalled, which could let the
 * process end first; with none, kill() meets the default action and ends the process.
 */
function interrupt(): void {
  if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT', 'SIGINT');
  else process.kill(process.pid, 'SIGINT');
}

/** One line typed in raw mode, so nothing is echoed; Ctrl-C interrupts, Ctrl-D on an empty line aborts. */
function readHiddenLine(input: TerminalInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  output.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let line = '';
    const finish = (rest: string, settle: () => void) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      // Keystrokes past the end of this line (a pasted answer to both prompts) belong to the next prompt.
      if (rest) input.unshift(rest, 'utf8');
      output.write('\n');
      settle();
    };
    const onData = (chunk: string | Buffer) => {
      const chars = [...chunk.toString()];
      for (const [index, char] of chars.entries()) {
        const rest = () => chars.slice(index + (char === '\r' && chars[index + 1] === '\n' ? 2 : 1)).join('');
        if (char === '\r' || char === '\n') return finish(rest(), () => resolve(line));
        if (char === '\u0003') return finish('', interrupt);
        if (char === '\u0004' && line === '') return finish('', () => reject(new UserError('no passphrase was typed (end of input)')));
        if (char === '\u007f' || char === '\b') line = [...line].slice(0, -1).join('');
        else if (char >= ' ') line += char;
      }
    };
    input.setEncoding('utf8');
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}
