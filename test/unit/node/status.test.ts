import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBootState } from '../../../src/node/boot-state.js';
import { readFirmware, renderStatus, type NodeStatus } from '../../../src/node/commands/status.js';
import { scratchDirs } from '../../helpers/scratch.js';

const scratch = scratchDirs();

const identity = { image: 'rancher/os2:v2', version: 'v2' };
const base: NodeStatus = { boot: { slot: 'active', try: 1, fallback: false, failed: [] }, firmware: 'uefi-secure', slots: { active: identity, passive: identity, recovery: identity }, tries: { active: 1, passive: 0 } };

describe('readBootState', () => {
  it("reads what the initramfs wrote, its '…' quoting included", async () => {
    const root = scratch('ros-status-');
    mkdirSync(join(root, 'run/ros'), { recursive: true });
    writeFileSync(join(root, 'run/ros/boot'), "IMAGE=recovery\nDEVICE=LABEL=COS_RECOVERY\nTRY=''\nFALLBACK=yes\nFAILED='active,passive'\nPERSISTENT_PROBLEM='no COS_PERSISTENT partition'\n");
    expect(await readBootState(root)).toEqual({ slot: 'recovery', device: 'LABEL=COS_RECOVERY', try: undefined, fallback: true, failed: ['active', 'passive'], persistentProblem: 'no COS_PERSISTENT partition' });
  });

  it('reads a boot of an image from before tries were counted (FALLBACK=yes alone: active failed)', async () => {
    const root = scratch('ros-status-');
    mkdirSync(join(root, 'run/ros'), { recursive: true });
    writeFileSync(join(root, 'run/ros/boot'), 'IMAGE=passive\nDEVICE=LABEL=COS_STATE\nFALLBACK=yes\n');
    expect(await readBootState(root)).toMatchObject({ slot: 'passive', fallback: true, failed: ['active'], persistentProblem: undefined });
  });
});

describe('readFirmware', () => {
  it('tells BIOS, UEFI, and UEFI with Secure Boot enforced apart, from sysfs', async () => {
    const root = scratch('ros-firmware-');
    const system = { root } as Parameters<typeof readFirmware>[0];
    expect(await readFirmware(system)).toBe('bios');
    mkdirSync(join(root, 'sys/firmware/efi/efivars'), { recursive: true });
    writeFileSync(join(root, 'sys/firmware/efi/fw_platform_size'), '64\n');
    expect(await readFirmware(system)).toBe('uefi');
    const variable = join(root, 'sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c');
    writeFileSync(variable, Buffer.from([6, 0, 0, 0, 0]));
    expect(await readFirmware(system)).toBe('uefi');
    writeFileSync(variable, Buffer.from([6, 0, 0, 0, 1]));
    expect(await readFirmware(system)).toBe('uefi-secure');
  });
});

describe('renderStatus', () => {
  it('names the image, its try, the counts and where persistent paths live', () => {
    const text = renderStatus(base);
    expect(text).toMatch(/^booted: active \(try 1 of 3\)$/m);
    expect(text).toMatch(/^boot tries: active 1 of 3, passive 0 of 3$/m);
    expect(text).toMatch(/^persistent: COS_PERSISTENT$/m);
    expect(text).toMatch(/^firmware: UEFI, Secure Boot on$/m);
    expect(renderStatus({ ...base, firmware: 'bios' })).toMatch(/^firmware: BIOS$/m);
    expect(renderStatus({ ...base, boot: { fallback: false, failed: [] }, firmware: 'uefi' })).toBe('booted: live medium (not an installed system)\nfirmware: UEFI, Secure Boot off\n');
  });

  it('says why a boot is a fallback, and which images were passed over', () => {
    const text = renderStatus({ ...base, boot: { slot: 'recovery', fallback: true, failed: ['active', 'passive'] }, tries: { active: 3, passive: 3 } });
    expect(text).toMatch(/^booted: recovery \(FALLBACK: the active and passive images did not boot\)$/m);
    expect(text).toMatch(/^boot tries: active 3 of 3 \(passed over until an upgrade or a rollback\), passive 3 of 3 \(passed over/m);
  });

  it('says plainly when nothing persists', () => {
    const text = renderStatus({ ...base, boot: { ...base.boot, persistentProblem: 'cannot mount COS_PERSISTENT (/dev/disk/by-label/COS_PERSISTENT)' } });
    expect(text).toMatch(/^persistent: NOT KEPT: cannot mount COS_PERSISTENT .*; \/var, \/home and the other persistent paths are on a tmpfs$/m);
  });
});
