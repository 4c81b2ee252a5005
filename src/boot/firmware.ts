import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Firmware } from './qemu-args.js';

export type FirmwareFiles =
  | { firmware: 'bios' }
  /** vars is absent for a combined image, which qemu loads with -bios. */
  | { firmware: 'uefi'; code: string; vars?: string }
  /** vars: the template of the variable store with the enrolled keys. */
  | { firmware: 'uefi-secure'; code: string; vars: string };

interface OvmfCandidate {
  code: string;
  vars?: string;
}

/*
 * Code and vars are looked for as pairs: the variable store must match the
 * code's flash layout (2 MiB and 4 MiB builds are not interchangeable).
 * Secure-boot builds are the other list: they need SMM (qemu-args.ts).
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

/** OVMF built with Secure Boot and SMM, and a store with Microsoft's keys enrolled (what PCs, Azure Trusted Launch and GCE Shielded VMs trust). */
export const SECURE_OVMF_CANDIDATES: ReadonlyArray<Required<OvmfCandidate>> = [
  // Debian, Ubuntu (package ovmf)
  { code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS.ms.fd' },
  // Fedora, RHEL (edk2-ovmf)
  { code: '/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd' },
];

export interface LocateOptions {
  /** Prefix for every candidate path; lets tests use a fake filesystem. */
  root?: string;
  candidates?: readonly OvmfCandidate[];
  /** uefi-secure: a variable store of one's own (keys enrolled) instead of the one with Microsoft's keys. */
  secureVars?: string;
}

/** The firmware files a boot needs; SeaBIOS ships inside qemu, so BIOS needs none. */
export async function locateFirmware(firmware: Firmware, options: LocateOptions = {}): Promise<FirmwareFiles> {
  if (firmware === 'bios') return { firmware: 'bios' };
  const root = options.root ?? '/';
  if (firmware === 'uefi-secure') return locateSecureFirmware(root, options);
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

async function locateSecureFirmware(root: string, options: LocateOptions): Promise<FirmwareFiles> {
  for (const candidate of options.candidates ?? SECURE_OVMF_CANDIDATES) {
    const code = join(root, candidate.code);
    const vars = options.secureVars ?? join(root, candidate.vars!);
    if ((await isReadable(code)) && (await isReadable(vars))) return { firmware: 'uefi-secure', code, vars };
  }
  if (options.secureVars && !(await isReadable(options.secureVars))) {
    throw new UserError(`the OVMF variable store ${options.secureVars} cannot be read`, 'give the file your keys are enrolled in (a copy of OVMF_VARS_4M.ms.fd or .snakeoil.fd, or one you enrolled)');
  }
  throw new UserError(
    'Could not find OVMF built for Secure Boot (OVMF_CODE_4M.secboot.fd and OVMF_VARS_4M.ms.fd), which --firmware uefi-secure needs',
    'apt-get install ovmf (Fedora: dnf install edk2-ovmf)',
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
