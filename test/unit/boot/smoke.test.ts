import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { smokeBoot, type BootEvent } from '../../../src/boot/smoke.js';

/*
 * smokeBoot against a stand-in for qemu: a shell script that records its pid
 * and argv, prints a canned serial transcript and then behaves like a running
 * guest (it never exits by itself). This exercises the process handling —
 * verdicts, timeout, killing, logs — without booting anything.
 */
let dir: string;
let artifact: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smoke-test-'));
  artifact = join(dir, 'ros.iso');
  await writeFile(artifact, '');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakeQemu(body: string): Promise<string> {
  const path = join(dir, 'fake-qemu');
  await writeFile(path, `#!/bin/sh\necho $$ > "${dir}/pid"\nprintf '%s\\n' "$@" > "${dir}/argv"\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function expectFakeGone(): Promise<void> {
  const pid = Number(await readFile(join(dir, 'pid'), 'utf8'));
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
}

const booted = String.raw`printf '[    0.000000] Linux version 6.1.0\r\n'
sleep 0.2
printf '[\033[0;32m  OK  \033[0m] Reached target \033[0;1;39mmulti-user.target\033[0m - Multi-User System.\r\n\r\nros login: '
exec sleep 60`;

describe('smokeBoot', () => {
  it('reports success, stops the guest and keeps the serial log beside the artifact', async () => {
    const events: BootEvent[] = [];
    const markers: string[] = [];
    const result = await smokeBoot({
      artifact,
      accelerator: 'tcg',
      qemuBinary: await fakeQemu(booted),
      onEvent: (event) => events.push(event),
      onMarker: (name) => markers.push(name),
    });
    expect(result).toMatchObject({ ok: true, accelerator: 'tcg', logPath: `${artifact}.bios.serial.log` });
    expect(result.reason).toMatch(/^reached multi-user.target and a login prompt after [\d.]+ s$/);
    expect(Object.keys(result.markers)).toEqual(['kernel', 'multi-user', 'login']);
    expect(result.markers['multi-user']).toBeGreaterThanOrEqual(0.1);
    expect(markers).toEqual(['kernel', 'multi-user', 'login']);
    expect(events.map((event) => event.kind)).toEqual(['accelerator', 'started', 'line', 'marker', 'line', 'marker', 'marker']);
    await expectFakeGone();
    const log = await readFile(result.logPath, 'utf8');
    expect(log).toMatch(/^\$ .*fake-qemu .*-no-reboot/);
    expect(log).toContain('Reached target \x1b[0;1;39mmulti-user.target'); // raw, escapes kept for `less -R`
    expect(await readFile(join(dir, 'argv'), 'utf8')).toContain(`file=${artifact},if=none,id=boot0,media=cdrom,readonly=on`);
  });

  it('fails fast on a kernel panic, quoting the serial output', async () => {
    const started = performance.now();
    const result = await smokeBoot({
      artifact,
      accelerator: 'tcg',
      timeoutSeconds: 30,
      qemuBinary: await fakeQemu(String.raw`printf 'VFS: Cannot open root device\r\nKernel panic - not syncing: VFS: Unable to mount root fs\r\n'
exec sleep 60`),
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.ok).toBe(false);
    expect(result.reason).toBe(
      'kernel panic: Kernel panic - not syncing: VFS: Unable to mount root fs\nlast serial output:\n    VFS: Cannot open root device\n    Kernel panic - not syncing: VFS: Unable to mount root fs',
    );
    await expectFakeGone();
  });

  it('gives up at the timeout, says what was missing and kills the guest', async () => {
    const result = await smokeBoot({
      artifact,
      accelerator: 'tcg',
      timeoutSeconds: 1,
      qemuBinary: await fakeQemu(`printf '[    0.5] Linux version 6.1.0\\r\\n'\nexec sleep 60`),
    });
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^no login prompt within 1 s \(seen: kernel; missing: multi-user, login\)\nlast serial output:\n {4}\[ {4}0\.5\] Linux version/);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
    expect(result.seconds).toBeLessThan(5);
    await expectFakeGone();
  });

  it('reports qemu refusing to start with its own error message', async () => {
    const result = await smokeBoot({
      artifact,
      accelerator: 'tcg',
      // Written in two pieces, as qemu's stderr can arrive, to check the log prefixes whole lines.
      qemuBinary: await fakeQemu(`printf 'qemu-system-x86_64:' >&2\nsleep 0.2\necho " -drive file=x: Could not open 'x': Permission denied" >&2\nexit 1`),
    });
    expect(result.ok).toBe(false);
    expect(result.reason).toContain("qemu exited with code 1 before the system came up:\n    qemu-system-x86_64: -drive file=x: Could not open 'x': Permission denied");
    expect(result.reason).toContain('no serial output');
    expect(await readFile(result.logPath, 'utf8')).toMatch(/\n\[qemu\] qemu-system-x86_64: -drive file=x: Could not open 'x': Permission denied\n$/);
  });

  it('throws a UserError when qemu is not installed', async () => {
    await expect(smokeBoot({ artifact, accelerator: 'tcg', qemuBinary: join(dir, 'no-such-qemu') })).rejects.toThrow(UserError);
  });

  it('throws a UserError naming a missing artifact', async () => {
    const missing = join(dir, 'nope.iso');
    const error = await smokeBoot({ artifact: missing, accelerator: 'tcg' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(`Artifact not found: ${missing}`);
  });

  it('stops the guest and rethrows when a progress callback throws', async () => {
    const boom = new Error('reporter broke');
    await expect(
      smokeBoot({
        artifact,
        accelerator: 'tcg',
        timeoutSeconds: 30,
        qemuBinary: await fakeQemu(booted),
        onMarker: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    await expectFakeGone();
  });

  // OVMF comes with make setup (ovmf): a missing one fails here rather than skipping the test.
  it('gives UEFI a private vars copy and removes it afterwards', async () => {
    const result = await smokeBoot({
      artifact,
      firmware: 'uefi',
      accelerator: 'tcg',
      qemuBinary: await fakeQemu(booted),
    });
    expect(result.logPath).toBe(`${artifact}.uefi.serial.log`);
    const argv = (await readFile(join(dir, 'argv'), 'utf8')).split('\n');
    const vars = argv.find((arg) => arg.startsWith('if=pflash,format=raw,unit=1,file='))?.slice('if=pflash,format=raw,unit=1,file='.length);
    expect(vars).toMatch(/ros-build-boot-[^/]+\/OVMF_VARS\.fd$/);
    expect(existsSync(vars ?? '/')).toBe(false);
  });
});
