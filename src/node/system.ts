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

/**
 * The system under `root`. Its log lines and the output of programs run with
 * passOutput go to our stdout and stderr, or all to `output` when given (the
 * phase server streams them to the unit that asked for the phase).
 */
export function createSystem(root = '/', output?: (text: string) => void): NodeSystem {
  const write = output ?? ((text: string) => process.stdout.write(text));
  return {
    root,
    run: (file, args, options) => runProgram(file, args, options, output),
    log: (line) => write(`${line}\n`),
  };
}

function runProgram(file: string, args: readonly string[], options: RunOptions = {}, passTo?: (text: string) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const inherit = options.passOutput && !passTo;
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => (options.passOutput ? passTo!(chunk.toString()) : (output += chunk.toString()));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (error) => resolve({ code: 127, output: `${file}: ${error.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}
