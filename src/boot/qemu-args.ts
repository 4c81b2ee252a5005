/**
 * The qemu-system-x86_64 command line for a boot. Pure: it only turns options
 * into argv, so the exact command can be unit-tested and logged.
 */
import { buildUserNetdev, type UserNetwork } from './user-net.js';

/** netboot: the NIC's iPXE fetches the boot script named by `artifact` (a URL) over DHCP's boot file. */
export type ArtifactKind = 'iso' | 'disk' | 'netboot';
/** qemu's names: vpc is VHD, the format of Azure's fixed disks. */
export type DiskFormat = 'raw' | 'qcow2' | 'vpc' | 'vmdk';
export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2', 'vpc', 'vmdk'];
/** How a disk is attached: virtio-blk, virtio-scsi (GCE), NVMe (EC2 Nitro) or SATA (AHCI on q35). */
export type DiskBus = 'virtio' | 'scsi' | 'nvme' | 'ide';
export const DISK_BUSES: readonly DiskBus[] = ['virtio', 'scsi', 'nvme', 'ide'];
/** uefi-secure: OVMF with Secure Boot enforced (SMM, a secure flash), keys from its variable store (Microsoft's by default). */
export type Firmware = 'bios' | 'uefi' | 'uefi-secure';
export const FIRMWARES: readonly Firmware[] = ['bios', 'uefi', 'uefi-secure'];
export type Accelerator = 'kvm' | 'tcg';

export const DEFAULT_MEMORY_MIB = 1536;
/** A network boot holds its root squashfs in RAM (dracut's livenet downloads it there). */
export const NETBOOT_MEMORY_MIB = 2560;
export const DEFAULT_CPUS = 2;

export interface DriveOptions {
  file: string;
  /** Raw when omitted; always passed to qemu, which would otherwise probe (and take a fixed VHD for raw). */
  format?: DiskFormat;
  /** Default virtio. */
  bus?: DiskBus;
  /** cdrom for ISO images (a NoCloud seed as made by genisoimage, for example); default disk. */
  media?: 'disk' | 'cdrom';
  /** Send guest writes to a throw-away overlay instead of the file. */
  snapshot?: boolean;
  readonly?: boolean;
  /** Boot order among the devices (lower first); a blank disk before the NIC boots the NIC until something is installed. */
  bootindex?: number;
}

export interface QemuOptions {
  /** The ISO or disk image to boot; for netboot, the boot script's URL. */
  artifact: string;
  kind: ArtifactKind;
  /** Only for disks; raw when omitted. */
  diskFormat?: DiskFormat;
  /** Only for disks; default virtio. */
  diskBus?: DiskBus;
  /** Only for disks: keep the file unchanged (guest writes go to a temporary overlay that lives as long as qemu). */
  snapshot?: boolean;
  firmware: Firmware;
  /** UEFI only: the read-only firmware code (or a combined OVMF.fd when there is no vars file). */
  ovmfCode?: string;
  /** UEFI only: a writable per-run copy of the variable store, never the system template. */
  ovmfVars?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Tried in order by qemu; a later one is used only when an earlier one fails to initialise. */
  accel?: readonly Accelerator[];
  /** qemu's -cpu model; default chosen by defaultCpuModel. */
  cpu?: string;
  /** Default true: qemu exits when the guest reboots, so a boot-looping image ends the run. Sessions that reboot on purpose turn it off. */
  exitOnReboot?: boolean;
  network?: UserNetwork;
  /** More drives after the boot medium, in order (a cloud-init seed, a scratch disk). */
  drives?: readonly DriveOptions[];
}

/** Build the argv (without the binary) for one boot. */
export function buildQemuArgs(options: QemuOptions): string[] {
  const netboot = options.kind === 'netboot';
  const memory = options.memoryMiB ?? (netboot ? NETBOOT_MEMORY_MIB : DEFAULT_MEMORY_MIB);
  const cpus = options.cpus ?? DEFAULT_CPUS;
  const accel = options.accel ?? ['kvm', 'tcg'];
  if (!Number.isInteger(memory) || memory < 64) throw new Error(`invalid memory size: ${memory} MiB`);
  if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`invalid cpu count: ${cpus}`);
  if (accel.length === 0) throw new Error('at least one accelerator is required');
  const cpu = options.cpu ?? defaultCpuModel(accel);
  const drives = new DriveArgs();

  return [
    '-name', 'ros-build',
    // Host and distribution defaults (extra NICs, a monitor on stdio, a floppy) would change what is being tested.
    '-no-user-config',
    '-nodefaults',
    // Secure Boot: OVMF's variables sit in SMM-protected flash, so the guest OS cannot rewrite the keys.
    ...(options.firmware === 'uefi-secure' ? ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on'] : ['-machine', 'q35']),
    ...accel.flatMap((name) => ['-accel', name]),
    ...(cpu === undefined ? [] : ['-cpu', cpu]),
    '-m', String(memory),
    '-smp', String(cpus),
    ...buildFirmwareArgs(options),
    // -nographic (not just -display none) makes qemu tell SeaBIOS to mirror its console to serial, so BIOS-stage failures such as "No bootable device" show up in the log.
    '-nographic',
    '-vga', 'none',
    '-serial', 'stdio',
    // A guest that reboots (panic=N, a failed boot loader) should end the run, not loop until the timeout.
    ...(options.exitOnReboot === false ? [] : ['-no-reboot']),
    ...buildMediumArgs(options, drives),
    ...(options.drives ?? []).flatMap((drive) => drives.attach(drive, drive.bootindex === undefined ? undefined : { bootindex: drive.bootindex })),
    '-netdev', buildUserNetdev('net0', netboot ? { ...options.network, bootfile: options.artifact } : options.network),
    // No option ROM unless booting from the network: the firmware must not spend the boot trying PXE; the guest still gets
    // DHCP from user networking. A network boot keeps qemu's iPXE ROM (package ipxe-qemu), after any disk given a bootindex.
    '-device', netboot ? 'virtio-net-pci,netdev=net0,bootindex=9' : 'virtio-net-pci,netdev=net0,romfile=',
    // Early userspace can block on an empty entropy pool under TCG; a host-backed RNG avoids that stall.
    '-device', 'virtio-rng-pci',
  ];
}

/*
 * KVM: "max" is the host's CPU with everything KVM can pass through. TCG:
 * qemu's default model (qemu64, x86-64 baseline, enough for Debian 12),
 * because TCG emulates max's extra features slowly: on the 2-core build
 * machine the live ISO reached its login prompt in 48.8 s instead of 56.8 s
 * (best of three each), the kernel phase alone 4.4 s instead of 7.0 s. A
 * distribution that needs x86-64-v2 or later under TCG asks for a model (--cpu).
 */
export function defaultCpuModel(accel: readonly Accelerator[]): string | undefined {
  return accel[0] === 'kvm' ? 'max' : undefined;
}

function buildFirmwareArgs(options: QemuOptions): string[] {
  if (options.firmware === 'bios') return []; // SeaBIOS is qemu's default firmware
  if (!options.ovmfCode) throw new Error('UEFI boot needs the OVMF firmware code path');
  if (!options.ovmfVars) {
    if (options.firmware === 'uefi-secure') throw new Error('Secure Boot needs OVMF as code and a variable store with the keys');
    // A combined image (code and vars in one file) can only be loaded as a ROM; variables are then not kept, which a smoke boot does not need.
    return ['-bios', options.ovmfCode];
  }
  return [
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${escapeOptionValue(options.ovmfCode)}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${escapeOptionValue(options.ovmfVars)}`,
  ];
}

function buildMediumArgs(options: QemuOptions, drives: DriveArgs): string[] {
  if (options.kind === 'netboot') return [];
  if (options.kind === 'iso') {
    // bootindex rather than -boot order: OVMF honours bootindex, and it also puts the CD ahead of anything else for SeaBIOS.
    return [
      '-drive', `file=${escapeOptionValue(options.artifact)},if=none,id=boot0,media=cdrom,readonly=on`,
      '-device', `ide-cd,drive=boot0,bus=${drives.nextIdeBus()},bootindex=0`,
    ];
  }
  return drives.attach(
    { file: options.artifact, format: options.diskFormat, bus: options.diskBus, snapshot: options.snapshot },
    { id: 'boot0', bootindex: 0 },
  );
}

/** Numbers drives, adds the virtio-scsi controller once, before the first SCSI disk, and gives each IDE device a bus of its own. */
class DriveArgs {
  private count = 0;
  private scsiController = false;
  private ideBuses = 0;

  /** q35's AHCI ports (ide.0 … ide.5) take one device each: a second CD-ROM on ide.0 would be refused. */
  nextIdeBus(): string {
    return `ide.${this.ideBuses++}`;
  }

  attach(drive: DriveOptions, boot?: { id?: string; bootindex: number }): string[] {
    const id = boot?.id ?? `drive${++this.count}`;
    const media = drive.media ?? 'disk';
    const format = drive.format ?? 'raw';
    const bus = drive.bus ?? 'virtio';
    const settings = [`file=${escapeOptionValue(drive.file)}`, 'if=none', `id=${id}`, `format=${format}`];
    if (media === 'cdrom') settings.push('media=cdrom');
    if (drive.readonly || media === 'cdrom') settings.push('readonly=on');
    // snapshot=on sends every guest write to a throw-away overlay: the file is left exactly as it was.
    if (drive.snapshot) settings.push('snapshot=on');
    const bootindex = boot ? `,bootindex=${boot.bootindex}` : '';
    const args = ['-drive', settings.join(',')];
    if (media === 'cdrom') return [...args, '-device', `ide-cd,drive=${id},bus=${this.nextIdeBus()}${bootindex}`];
    switch (bus) {
      case 'virtio':
        return [...args, '-device', `virtio-blk-pci,drive=${id}${bootindex}`];
      case 'scsi': {
        const controller = this.scsiController ? [] : ['-device', 'virtio-scsi-pci,id=scsi0'];
        this.scsiController = true;
        return [...controller, ...args, '-device', `scsi-hd,drive=${id},bus=scsi0.0${bootindex}`];
      }
      case 'nvme':
        return [...args, '-device', `nvme,drive=${id},serial=${id}${bootindex}`];
      case 'ide':
        return [...args, '-device', `ide-hd,drive=${id},bus=${this.nextIdeBus()}${bootindex}`];
    }
  }
}

/** qemu splits option values at commas; a literal comma in a path is written as two. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}
