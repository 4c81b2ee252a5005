import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runCli, specFlags, testImage, testOutputDir } from '../helpers/cli.js';

describe('the OS ISO', () => {
  let iso = '';

  beforeAll(async () => {
    const built = await runCli(['iso', ...specFlags()]);
    expect(built.stderr).not.toMatch(/error:/);
    iso = built.stdout.trim();
  });

  it('is a hybrid medium with BIOS and UEFI boot images', async () => {
    const { stdout } = await execa('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    expect(stdout).toMatch(/El Torito boot img :\s+1\s+BIOS/);
    expect(stdout).toMatch(/El Torito boot img :\s+2\s+UEFI/);
  });

  // Booted under OVMF, clean, at its serial console in test/e2e/live-console.test.ts; under SeaBIOS looked into over SSH by
  // test/e2e/guest.test.ts and installed from in test/e2e/install.test.ts.
});

describe('media from an image built FROM the OS image', () => {
  const derived = 'ros-build-test/derived:it';
  let iso = '';

  beforeAll(async () => {
    await execa('docker', ['build', '-q', '--build-arg', `BASE=${testImage.repo}:${testImage.tag}`, '-t', derived, join(import.meta.dirname, 'fixtures', 'derived')]);
    const built = await runCli(['iso', '--image', derived, '--cloud-config', join(import.meta.dirname, 'fixtures', 'cloud-config.yaml'), ...specFlags()]);
    expect(built.stderr).not.toMatch(/error:/);
    expect(built.exitCode).toBe(0);
    iso = built.stdout.trim();
  });

  it('carries the derived image\'s files and the cloud-config', async () => {
    expect(iso).toMatch(/derived-it\.iso$/);
    const work = mkdtempSync(join(tmpdir(), 'ros-derived-'));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/LiveOS/squashfs.img', join(work, 'rootfs.squashfs'), '-extract', '/ros/cloud-config.yaml', join(work, 'cc.yaml')]);
    const { stdout } = await execa('unsquashfs', ['-cat', join(work, 'rootfs.squashfs'), 'usr/share/ros-e2e/marker']);
    expect(stdout).toBe('added by a derived image');
    expect(readFileSync(join(work, 'cc.yaml'), 'utf8')).toContain('hostname: ros-e2e');
    const manifest = JSON.parse(readFileSync(join(testOutputDir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.find((a: { path: string }) => a.path === 'derived-it.iso')).toMatchObject({ format: 'iso' });
  });

  // Booted written to a disk (as from a USB stick), under SeaBIOS, by `ros-build boot` inside the builder image:
  // test/e2e/builder.test.ts, which makes its own ISO of this image.
});
