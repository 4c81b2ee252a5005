import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { locateFirmware } from '../../../src/boot/firmware.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'firmware-test-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function touch(...paths: string[]): Promise<void> {
  for (const path of paths) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), '');
  }
}

describe('locateFirmware', () => {
  it('needs no files for BIOS', async () => {
    expect(await locateFirmware('bios', { root })).toEqual({ firmware: 'bios' });
  });

  it('prefers the Debian 4 MiB pair', async () => {
    await touch('usr/share/OVMF/OVMF_CODE_4M.fd', 'usr/share/OVMF/OVMF_VARS_4M.fd', 'usr/share/OVMF/OVMF_CODE.fd', 'usr/share/OVMF/OVMF_VARS.fd');
    expect(await locateFirmware('uefi', { root })).toEqual({
      firmware: 'uefi',
      code: join(root, 'usr/share/OVMF/OVMF_CODE_4M.fd'),
      vars: join(root, 'usr/share/OVMF/OVMF_VARS_4M.fd'),
    });
  });

  it('finds the Fedora and Arch layouts', async () => {
    await touch('usr/share/edk2/ovmf/OVMF_CODE.fd', 'usr/share/edk2/ovmf/OVMF_VARS.fd');
    expect(await locateFirmware('uefi', { root })).toMatchObject({ code: join(root, 'usr/share/edk2/ovmf/OVMF_CODE.fd') });
    await rm(join(root, 'usr'), { recursive: true });
    await touch('usr/share/edk2-ovmf/x64/OVMF_CODE.fd', 'usr/share/edk2-ovmf/x64/OVMF_VARS.fd');
    expect(await locateFirmware('uefi', { root })).toMatchObject({ vars: join(root, 'usr/share/edk2-ovmf/x64/OVMF_VARS.fd') });
  });

  it('never pairs code with a vars file of another build', async () => {
    // 4M code without its vars, 2M vars without its code: no valid pair, so only the combined image qualifies.
    await touch('usr/share/OVMF/OVMF_CODE_4M.fd', 'usr/share/OVMF/OVMF_VARS.fd', 'usr/share/ovmf/OVMF.fd');
    expect(await locateFirmware('uefi', { root })).toEqual({ firmware: 'uefi', code: join(root, 'usr/share/ovmf/OVMF.fd') });
  });

  it('finds the Secure Boot build with Microsoft\'s keys, or one\'s own variable store', async () => {
    await touch('usr/share/OVMF/OVMF_CODE_4M.fd', 'usr/share/OVMF/OVMF_VARS_4M.fd', 'usr/share/OVMF/OVMF_CODE_4M.secboot.fd', 'usr/share/OVMF/OVMF_VARS_4M.ms.fd', 'keys/my-vars.fd');
    expect(await locateFirmware('uefi-secure', { root })).toEqual({
      firmware: 'uefi-secure',
      code: join(root, 'usr/share/OVMF/OVMF_CODE_4M.secboot.fd'),
      vars: join(root, 'usr/share/OVMF/OVMF_VARS_4M.ms.fd'),
    });
    expect(await locateFirmware('uefi-secure', { root, secureVars: join(root, 'keys/my-vars.fd') })).toMatchObject({ vars: join(root, 'keys/my-vars.fd') });
    await expect(locateFirmware('uefi-secure', { root, secureVars: join(root, 'keys/missing.fd') })).rejects.toThrow(/missing\.fd cannot be read/);
  });

  it('says which files Secure Boot needs when OVMF has only the plain build', async () => {
    await touch('usr/share/OVMF/OVMF_CODE_4M.fd', 'usr/share/OVMF/OVMF_VARS_4M.fd');
    await expect(locateFirmware('uefi-secure', { root })).rejects.toThrow(/OVMF built for Secure Boot \(OVMF_CODE_4M\.secboot\.fd/);
  });

  it('explains how to install OVMF when it is missing', async () => {
    const error = await locateFirmware('uefi', { root }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe('Could not find OVMF, which is required to boot with UEFI');
    expect((error as UserError).hint).toMatch(/^apt-get install ovmf/);
  });
});
