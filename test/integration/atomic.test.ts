import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli, testImage } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch.js';

function listFilesDeep(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

async function temporaryContainers(): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', 'label=io.ros-build.temporary']);
  return stdout.split('\n').filter(Boolean);
}

const flagsFor = (outputDir: string) => ['--repo', testImage.repo, '--tag', testImage.tag, '--output-dir', outputDir];

/** Output directories of these tests (an ISO and a rootfs cache each), removed after them. */
const tempOutputDir = scratchDirs();

describe('interrupted and failed builds leave nothing half-made', () => {
  it('Ctrl-C during the rootfs export: exit 130, no partial files, no container, and the next run succeeds', async () => {
    const outputDir = tempOutputDir('ros-interrupt-');
    const child = execa('node', [cliPath, 'iso', ...flagsFor(outputDir)], { cwd: repoRoot, env: { CI: '1' }, reject: false, all: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the rootfs step never started')), 900_000);
      child.all?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('rootfs: started')) {
          clearTimeout(timer);
          // Let the export and tar2sqfs get under way before interrupting.
          setTimeout(resolve, 3000);
        }
      });
    });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(String(result.all)).toContain('interrupted (SIGINT)');
    expect(listFilesDeep(outputDir).filter((f) => f.includes('.partial-'))).toEqual([]);
    expect(listFilesDeep(outputDir).filter((f) => f.endsWith('.iso'))).toEqual([]);
    expect(await temporaryContainers()).toEqual([]);

    const rerun = await runCli(['iso', ...flagsFor(outputDir)]);
    expect(rerun.stderr).not.toMatch(/error:/);
    expect(rerun.exitCode).toBe(0);
    expect(existsSync(rerun.stdout.trim())).toBe(true);
  }, 1_200_000);

  it.skipIf(process.getuid?.() !== 0)('a full disk: a clear error naming the cause, non-zero exit, no partial artifact', async () => {
    const outputDir = tempOutputDir('ros-full-');
    mkdirSync(outputDir, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', outputDir]);
    try {
      const result = await runCli(['iso', ...flagsFor(outputDir)]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/No space left on device for the rootfs squashfs: it needs about \d+ MiB in .*ros-full-.* which has \d+ MiB free/);
      expect(result.stderr).toMatch(/hint: free space on that disk, or pass --output-dir/);
      expect(listFilesDeep(outputDir).filter((f) => f.includes('.partial-') || f.endsWith('.squashfs') || f.endsWith('.iso'))).toEqual([]);
      expect(await temporaryContainers()).toEqual([]);
    } finally {
      await execa('umount', [outputDir]);
    }
  }, 900_000);
});
