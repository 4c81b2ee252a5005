import { spawn } from 'node:child_process';

/** What applying a configuration needs from the running system; tests give a root and a recorder instead. */
export interface NodeSystem {
  /** Every path `ros` reads or writes is under this root ('/' on a node). */
  root: string;
  /** Run a program; never throws for a non-zero exit (the caller reports it). */
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** One line to the journal (and the console, by the unit's StandardOutput). */
  log(line: string): void;
}

export interface RunOptions {
  /** Written to the program's stdin: how secrets reach chpasswd without appearing in argv. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Let the program's output through to ours (user commands), instead of capturing it. */
  passOutput?: boolean;
}

export interface RunResult {
  code: number;
  output: string;
}

export function createSystem(root = '/'): NodeSystem {
  return {
    root,
    run: runProgram,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

function runProgram(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', options.passOutput ? 'inherit' : 'pipe', options.passOutput ? 'inherit' : 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: 127, output: `${file}: ${error.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}
