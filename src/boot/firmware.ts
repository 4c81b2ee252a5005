import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Firmware } from './qemu-args.js';

export type FirmwareFiles =
  | { firmware: 'bios' }
  /** vars is absent for a combined image, which qemu loads with -bios. */
  | { firmware: 'uefi'; code: string; vars?: string };

interface OvmfCandidate {
  code: string;
  vars?: string;
}

/*
 * Code and vars are looked for as pairs: the variable store must match the
 * code's flash layout (2 MiB and 4 MiB builds are not interchangeable).
 * Secure-boot builds are skipped; they need SMM and a different machine setup.
 */
export const OVMF_CANDIDATES: readonly OvmfCandidate[] = [
  // Debian, Ubuntu
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  // Fedora, RHEL
  { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd' },
  // Arch (current, then older edk2-ovmf layout)
  { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
  { code: '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', vars: '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd' },
  // Combined images, the last resort
  { code: '/usr/share/ovmf/OVMF.fd' },
  { code: '/usr/share/qemu/OVMF.fd' },
];

export interface LocateOptions {
  /** Prefix for every candidate path; lets tests use a fake filesystem. */
  root?: string;
  candidates?: readonly OvmfCandidate[];
}

/** The firmware files a boot needs; SeaBIOS ships inside qemu, so BIOS needs none. */
export async function locateFirmware(firmware: Firmware, options: LocateOptions = {}): Promise<FirmwareFiles> {
  if (firmware === 'bios') return { firmware: 'bios' };
  const root = options.root ?? '/';
  for (const candidate of options.candidates ?? OVMF_CANDIDATES) {
    const code = join(root, candidate.code);
    const vars = candidate.vars === undefined ? undefined : join(root, candidate.vars);
    if ((await isReadable(code)) && (vars === undefined || (await isReadable(vars)))) {
      return vars === undefined ? { firmware: 'uefi', code } : { firmware: 'uefi', code, vars };
    }
  }
  throw new UserError(
    'Could not find OVMF, which is required to boot with UEFI',
    'apt-get install ovmf (Fedora: dnf install edk2-ovmf, Arch: pacman -S edk2-ovmf)',
  );
}

async function isReadable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
