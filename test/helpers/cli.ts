import { execa } from 'execa';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const cliPath = join(repoRoot, 'dist', 'cli.js');

/** Run the built CLI as a user would; never throws, the result carries the exit code and output. */
export async function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}) {
  const result = await execa('node', [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { CI: '1', ...options.env },
    reject: false,
    timeout: options.timeoutMs ?? 1_800_000,
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The images and output directory the tests build into, apart from a user's rancher/os2:dev. */
export const testImage = { repo: 'ros-build-test/os', tag: 'it' };
export const testOutputDir = join(repoRoot, 'build', 'test');

export function specFlags(): string[] {
  return ['--repo', testImage.repo, '--tag', testImage.tag, '--output-dir', testOutputDir];
}

export async function listContainers(): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq']);
  return stdout.split('\n').filter(Boolean).sort();
}
