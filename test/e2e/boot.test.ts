import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, specFlags, testImage, testOutputDir } from '../helpers/cli.js';

// Under TCG a boot takes 60–120 s on two cores; allow for a loaded CI machine.
const bootTimeout = '420';
const testTimeoutMs = 600_000;

async function boot(iso: string, firmware: 'bios' | 'uefi', extra: string[] = []) {
  const log = join(mkdtempSync(join(tmpdir(), 'ros-boot-')), `${firmware}.serial.log`);
  const result = await runCli(['boot', iso, '--firmware', firmware, '--timeout', bootTimeout, '--log', log, ...extra]);
  return { ...result, serial: readFileSync(log, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

describe('the OS ISO boots to a login prompt', () => {
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
    await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/LiveOS/squashfs.img', join(work, 'rootfs.squashfs'), '-extract', '/ros/cloud-config.yaml', join(work, 'cc.yaml')]);
    const { stdout } = await execa('unsquashfs', ['-cat', join(work, 'rootfs.squashfs'), 'usr/share/ros-e2e/marker']);
    expect(stdout).toBe('added by a derived image');
    expect(readFileSync(join(work, 'cc.yaml'), 'utf8')).toContain('hostname: ros-e2e');
    const manifest = JSON.parse(readFileSync(join(testOutputDir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.find((a: { path: string }) => a.path === 'derived-it.iso')).toMatchObject({ format: 'iso' });
  });

  it('boots written to a disk (as from a USB stick), shows the derived /etc/issue and applies the cloud-config hostname', async () => {
    const result = await boot(iso, 'bios', ['--as-disk']);
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.exitCode).toBe(0);
    expect(result.serial).toContain('DERIVED-IMAGE-MARKER');
    expect(result.serial).toMatch(/ros-e2e login:/);
  }, testTimeoutMs);
});
