/**
 * `ros-build boot --check CMD`: commands run in the booted guest over SSH,
 * each passing when it exits 0. All run, also after a failure, so one boot
 * reports every problem.
 */
import type { CommandResult, Guest } from './guest.js';
import { SSH_FAILED } from './ssh.js';

export interface CheckResult {
  command: string;
  ok: boolean;
  exitCode: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export async function runChecks(
  guest: Pick<Guest, 'run'>,
  commands: readonly string[],
  onResult?: (result: CheckResult) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const command of commands) {
    const started = performance.now();
    const outcome: CommandResult = await guest.run(command);
    const result = { command, ok: outcome.exitCode === 0, ...outcome, seconds: Math.round((performance.now() - started) / 100) / 10 };
    results.push(result);
    onResult?.(result);
  }
  return results;
}

/** "✓ CMD" or "✗ CMD (exit N)" and, for a failure, what it printed. */
export function formatCheck(result: CheckResult): string {
  if (result.ok) return `✓ check: ${result.command} (${result.seconds.toFixed(1)}s)`;
  // ssh uses 255 for its own failures; a command can exit 255 too, so say both.
  const status = result.exitCode === SSH_FAILED ? 'exit 255: the command, or ssh itself' : `exit ${result.exitCode}`;
  const output = [result.stdout.trimEnd(), result.stderr.trimEnd()].filter(Boolean).join('\n');
  return `✗ check: ${result.command} (${status})${output ? `\n${output.replace(/^/gm, '    ')}` : ''}`;
}
