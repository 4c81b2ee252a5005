import { appendFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { lastLines } from '../progress/tail.js';

export interface RunOptions {
  /** Append the command and its combined output to this file. */
  logPath?: string;
  /** Feed this readable stream to stdin (for example a tar export). */
  input?: NodeJS.ReadableStream;
  cwd?: string;
  env?: Record<string, string>;
  /** Kill the command when this aborts (for example when the stream feeding it failed). */
  cancelSignal?: AbortSignal;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly outputTail: string,
  ) {
    const status = exitCode === undefined ? 'was killed' : `failed with exit code ${exitCode}`;
    super(`Command ${status}: ${command}${outputTail ? `\n${outputTail}` : ''}`);
    this.name = 'CommandError';
  }
}

export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Run a tool; on failure throw a CommandError naming the command, its status and the last lines it printed. */
export async function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const command = formatCommand(file, args);
  if (options.logPath) await appendFile(options.logPath, `$ ${command}\n`);
  const child: ResultPromise = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    all: true,
    reject: false,
    stdin: options.input ? 'pipe' : 'ignore',
    stripFinalNewline: false,
    cancelSignal: options.cancelSignal,
  });
  if (options.input && child.stdin) {
    // A tool that exits early (full disk, bad option) closes stdin; the real error is its exit status.
    child.stdin.on('error', () => {});
    options.input.pipe(child.stdin);
  }
  const result = await child;
  const output = String(result.all ?? '');
  if (options.logPath) await appendFile(options.logPath, output);
  if (result.failed) {
    if ((result as { code?: string }).code === 'ENOENT') {
      throw new CommandError(command, undefined, `${file}: not found on PATH`);
    }
    throw new CommandError(command, result.exitCode, lastLines(output, 15));
  }
  return String(result.stdout ?? '');
}
