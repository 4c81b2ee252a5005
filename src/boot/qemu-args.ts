/**
 * The qemu-system-x86_64 command line for a smoke boot. Pure: it only turns
 * options into argv, so the exact command can be unit-tested and logged.
 */

export type ArtifactKind = 'iso' | 'disk';
export type DiskFormat = 'raw' | 'qcow2';
export type Firmware = 'bios' | 'uefi';
export type Accelerator = 'kvm' | 'tcg';

export const DEFAULT_MEMORY_MIB = 1536;
export const DEFAULT_CPUS = 2;

export interface QemuOptions {
  /** The ISO or disk image to boot. */
  artifact: string;
  kind: ArtifactKind;
  /** Only for disks; raw when omitted. */
  diskFormat?: DiskFormat;
  firmware: Firmware;
  /** UEFI only: the read-only firmware code (or a combined OVMF.fd when there is no vars file). */
  ovmfCode?: string;
  /** UEFI only: a writable per-run copy of the variable store, never the system template. */
  ovmfVars?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Tried in order by qemu; a later one is used only when an earlier one fails to initialise. */
  accel?: readonly Accelerator[];
}

/** Build the argv (without the binary) for one smoke boot. */
export function buildQemuArgs(options: QemuOptions): string[] {
  const memory = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
  const cpus = options.cpus ?? DEFAULT_CPUS;
  const accel = options.accel ?? ['kvm', 'tcg'];
  if (!Number.isInteger(memory) || memory < 64) throw new Error(`invalid memory size: ${memory} MiB`);
  if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`invalid cpu count: ${cpus}`);
  if (accel.length === 0) throw new Error('at least one accelerator is required');

  return [
    '-name', 'ros-build-smoke',
    // Host and distribution defaults (extra NICs, a monitor on stdio, a floppy) would change what is being tested.
    '-no-user-config',
    '-nodefaults',
    '-machine', 'q35',
    ...accel.flatMap((name) => ['-accel', name]),
    // "max" works under both KVM and TCG (unlike "host"), and gives TCG guests the x86-64-v2+ features newer distributions require.
    '-cpu', 'max',
    '-m', String(memory),
    '-smp', String(cpus),
    ...buildFirmwareArgs(options),
    // -nographic (not just -display none) makes qemu tell SeaBIOS to mirror its console to serial, so BIOS-stage failures such as "No bootable device" show up in the log.
    '-nographic',
    '-vga', 'none',
    '-serial', 'stdio',
    // A guest that reboots (panic=N, a failed boot loader) should end the run, not loop until the timeout.
    '-no-reboot',
    ...buildMediumArgs(options),
    '-netdev', 'user,id=net0',
    // No option ROM: the firmware must not spend the boot trying PXE; the guest still gets DHCP from user networking.
    '-device', 'virtio-net-pci,netdev=net0,romfile=',
    // Early userspace can block on an empty entropy pool under TCG; a host-backed RNG avoids that stall.
    '-device', 'virtio-rng-pci',
  ];
}

function buildFirmwareArgs(options: QemuOptions): string[] {
  if (options.firmware === 'bios') return []; // SeaBIOS is qemu's default firmware
  if (!options.ovmfCode) throw new Error('UEFI boot needs the OVMF firmware code path');
  if (!options.ovmfVars) {
    // A combined image (code and vars in one file) can only be loaded as a ROM; variables are then not kept, which a smoke boot does not need.
    return ['-bios', options.ovmfCode];
  }
  return [
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${escapeOptionValue(options.ovmfCode)}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${escapeOptionValue(options.ovmfVars)}`,
  ];
}

function buildMediumArgs(options: QemuOptions): string[] {
  const file = escapeOptionValue(options.artifact);
  if (options.kind === 'iso') {
    // bootindex rather than -boot order: OVMF honours bootindex, and it also puts the CD ahead of anything else for SeaBIOS.
    return [
      '-drive', `file=${file},if=none,id=boot0,media=cdrom,readonly=on`,
      '-device', 'ide-cd,drive=boot0,bootindex=0',
    ];
  }
  const format = options.diskFormat ?? 'raw';
  return [
    // snapshot=on sends every guest write to a throw-away overlay: booting must never modify the artifact being tested.
    '-drive', `file=${file},if=none,id=boot0,format=${format},snapshot=on`,
    '-device', 'virtio-blk-pci,drive=boot0,bootindex=0',
  ];
}

/** qemu splits option values at commas; a literal comma in a path is written as two. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}
