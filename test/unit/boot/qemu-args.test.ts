import { describe, expect, it } from 'vitest';
import { buildQemuArgs, escapeOptionValue, type QemuOptions } from '../../../src/boot/qemu-args.js';

const iso: QemuOptions = { artifact: '/out/ros.iso', kind: 'iso', firmware: 'bios', accel: ['tcg'] };

/** Every `-flag value` pair for a flag that may repeat (-drive, -device, -accel). */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? '<missing>'] : []));
}

describe('buildQemuArgs', () => {
  it('builds the whole command line for a BIOS ISO boot', () => {
    expect(buildQemuArgs(iso)).toEqual([
      '-name', 'ros-build',
      '-no-user-config',
      '-nodefaults',
      '-machine', 'q35',
      '-accel', 'tcg',
      '-m', '1536',
      '-smp', '2',
      '-nographic',
      '-vga', 'none',
      '-serial', 'stdio',
      '-no-reboot',
      '-drive', 'file=/out/ros.iso,if=none,id=boot0,media=cdrom,readonly=on',
      '-device', 'ide-cd,drive=boot0,bus=ide.0,bootindex=0',
      '-netdev', 'user,id=net0',
      '-device', 'virtio-net-pci,netdev=net0,romfile=',
      '-device', 'virtio-rng-pci',
    ]);
  });

  it('attaches a qcow2 disk through virtio-blk, writable unless a snapshot is asked for', () => {
    const args = buildQemuArgs({ ...iso, artifact: '/out/ros.qcow2', kind: 'disk', diskFormat: 'qcow2' });
    expect(valuesOf(args, '-drive')).toEqual(['file=/out/ros.qcow2,if=none,id=boot0,format=qcow2']);
    expect(valuesOf(args, '-device')).toContain('virtio-blk-pci,drive=boot0,bootindex=0');
    expect(args.some((arg) => arg.includes('cdrom') || arg.startsWith('ide-cd'))).toBe(false);
    const snapshot = buildQemuArgs({ ...iso, artifact: '/out/ros.qcow2', kind: 'disk', diskFormat: 'qcow2', snapshot: true });
    expect(valuesOf(snapshot, '-drive')).toEqual(['file=/out/ros.qcow2,if=none,id=boot0,format=qcow2,snapshot=on']);
  });

  it('treats a disk without a format as raw', () => {
    const args = buildQemuArgs({ ...iso, artifact: '/out/ros.img', kind: 'disk' });
    expect(valuesOf(args, '-drive')).toEqual(['file=/out/ros.img,if=none,id=boot0,format=raw']);
  });

  it('always names the format, so a fixed VHD is not probed as raw', () => {
    for (const format of ['raw', 'qcow2', 'vpc', 'vmdk'] as const) {
      const args = buildQemuArgs({ ...iso, artifact: '/out/disk', kind: 'disk', diskFormat: format });
      expect(valuesOf(args, '-drive')).toEqual([`file=/out/disk,if=none,id=boot0,format=${format}`]);
    }
  });

  it('attaches the boot disk on the bus asked for, with the SCSI controller once', () => {
    const disk: QemuOptions = { ...iso, artifact: '/out/d.raw', kind: 'disk' };
    expect(valuesOf(buildQemuArgs({ ...disk, diskBus: 'nvme' }), '-device')).toContain('nvme,drive=boot0,serial=boot0,bootindex=0');
    expect(valuesOf(buildQemuArgs({ ...disk, diskBus: 'ide' }), '-device')).toContain('ide-hd,drive=boot0,bus=ide.0,bootindex=0');
    const scsi = valuesOf(buildQemuArgs({ ...disk, diskBus: 'scsi', drives: [{ file: '/tmp/data.raw', bus: 'scsi' }] }), '-device');
    expect(scsi.filter((device) => device.startsWith('virtio-scsi-pci'))).toEqual(['virtio-scsi-pci,id=scsi0']);
    expect(scsi).toContain('scsi-hd,drive=boot0,bus=scsi0.0,bootindex=0');
    expect(scsi).toContain('scsi-hd,drive=drive1,bus=scsi0.0');
  });

  it('adds extra drives after the boot medium, without a boot index', () => {
    const args = buildQemuArgs({
      ...iso,
      drives: [
        { file: '/tmp/seed.iso', media: 'cdrom' },
        { file: '/tmp/scratch,1.qcow2', format: 'qcow2', snapshot: true },
        { file: '/tmp/ro.raw', readonly: true },
      ],
    });
    expect(valuesOf(args, '-drive')).toEqual([
      'file=/out/ros.iso,if=none,id=boot0,media=cdrom,readonly=on',
      'file=/tmp/seed.iso,if=none,id=drive1,format=raw,media=cdrom,readonly=on',
      'file=/tmp/scratch,,1.qcow2,if=none,id=drive2,format=qcow2,snapshot=on',
      'file=/tmp/ro.raw,if=none,id=drive3,format=raw,readonly=on',
    ]);
    expect(valuesOf(args, '-device')).toEqual(expect.arrayContaining(['ide-cd,drive=drive1,bus=ide.1', 'virtio-blk-pci,drive=drive2', 'virtio-blk-pci,drive=drive3']));
    expect(valuesOf(args, '-device').filter((device) => device.includes('bootindex'))).toEqual(['ide-cd,drive=boot0,bus=ide.0,bootindex=0']);
  });

  it('uses qemu\'s default CPU model under TCG and max under KVM, unless one is named', () => {
    expect(buildQemuArgs({ ...iso, accel: ['tcg'] })).not.toContain('-cpu');
    expect(valuesOf(buildQemuArgs({ ...iso, accel: ['kvm'] }), '-cpu')).toEqual(['max']);
    expect(valuesOf(buildQemuArgs({ ...iso, accel: ['kvm', 'tcg'] }), '-cpu')).toEqual(['max']);
    expect(valuesOf(buildQemuArgs({ ...iso, accel: ['tcg'], cpu: 'Nehalem' }), '-cpu')).toEqual(['Nehalem']);
  });

  it('lets qemu keep running across guest reboots only when asked', () => {
    expect(buildQemuArgs(iso)).toContain('-no-reboot');
    expect(buildQemuArgs({ ...iso, exitOnReboot: true })).toContain('-no-reboot');
    expect(buildQemuArgs({ ...iso, exitOnReboot: false })).not.toContain('-no-reboot');
  });

  it('forwards host ports on loopback and guest addresses to commands on the user network', () => {
    const args = buildQemuArgs({
      ...iso,
      network: {
        cidr: '169.254.0.0/16',
        hostForwards: [{ hostPort: 40022, guestPort: 22 }],
        guestForwards: [{ guestAddress: '169.254.169.254', guestPort: 80, command: ['/usr/bin/node', '-e', 'a, b', '127.0.0.1', '8080'] }],
      },
    });
    expect(valuesOf(args, '-netdev')).toEqual([
      "user,id=net0,net=169.254.0.0/16,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:169.254.169.254:80-cmd:/usr/bin/node -e 'a,, b' 127.0.0.1 8080",
    ]);
    expect(valuesOf(args, '-device')).toContain('virtio-net-pci,netdev=net0,romfile=');
  });

  it('loads OVMF code read-only and the per-run vars copy writable', () => {
    const args = buildQemuArgs({ ...iso, firmware: 'uefi', ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd', ovmfVars: '/tmp/run/OVMF_VARS.fd' });
    expect(valuesOf(args, '-drive').slice(0, 2)).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/run/OVMF_VARS.fd',
    ]);
    expect(args).not.toContain('-bios');
  });

  it('enforces Secure Boot with SMM and a secure flash, and never without a variable store', () => {
    const args = buildQemuArgs({ ...iso, firmware: 'uefi-secure', ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', ovmfVars: '/tmp/run/OVMF_VARS.fd' });
    expect(valuesOf(args, '-machine')).toEqual(['q35,smm=on']);
    expect(valuesOf(args, '-global')).toEqual(['driver=cfi.pflash01,property=secure,value=on']);
    expect(valuesOf(args, '-drive')[0]).toBe('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
    expect(valuesOf(buildQemuArgs({ ...iso, firmware: 'uefi', ovmfCode: 'c', ovmfVars: 'v' }), '-machine')).toEqual(['q35']);
    expect(() => buildQemuArgs({ ...iso, firmware: 'uefi-secure', ovmfCode: '/usr/share/ovmf/OVMF.fd' })).toThrow(/variable store/);
  });

  it('loads a combined OVMF image with -bios when there is no vars file', () => {
    const args = buildQemuArgs({ ...iso, firmware: 'uefi', ovmfCode: '/usr/share/ovmf/OVMF.fd' });
    expect(valuesOf(args, '-bios')).toEqual(['/usr/share/ovmf/OVMF.fd']);
    expect(valuesOf(args, '-drive').filter((d) => d.startsWith('if=pflash'))).toEqual([]);
  });

  it('refuses UEFI without firmware code rather than silently booting SeaBIOS', () => {
    expect(() => buildQemuArgs({ ...iso, firmware: 'uefi' })).toThrow(/OVMF/);
  });

  it('adds no firmware options for BIOS', () => {
    const args = buildQemuArgs({ ...iso, ovmfCode: '/x/CODE.fd', ovmfVars: '/x/VARS.fd' });
    expect(args).not.toContain('-bios');
    expect(args.some((arg) => arg.includes('pflash'))).toBe(false);
  });

  it('passes accelerators in order so qemu can fall back', () => {
    expect(valuesOf(buildQemuArgs({ ...iso, accel: ['kvm', 'tcg'] }), '-accel')).toEqual(['kvm', 'tcg']);
    expect(valuesOf(buildQemuArgs({ ...iso, accel: undefined }), '-accel')).toEqual(['kvm', 'tcg']);
    expect(() => buildQemuArgs({ ...iso, accel: [] })).toThrow(/accelerator/);
  });

  it('uses the requested memory and cpu count', () => {
    const args = buildQemuArgs({ ...iso, memoryMiB: 4096, cpus: 4 });
    expect(valuesOf(args, '-m')).toEqual(['4096']);
    expect(valuesOf(args, '-smp')).toEqual(['4']);
    expect(() => buildQemuArgs({ ...iso, memoryMiB: 1.5 })).toThrow(/memory/);
    expect(() => buildQemuArgs({ ...iso, cpus: 0 })).toThrow(/cpu/);
  });

  it('doubles commas in paths so qemu does not read them as option separators', () => {
    const args = buildQemuArgs({ ...iso, artifact: '/out/a,b.iso', firmware: 'uefi', ovmfCode: '/fw/C,1.fd', ovmfVars: '/tmp/V,2.fd' });
    expect(valuesOf(args, '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/C,,1.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/V,,2.fd',
      'file=/out/a,,b.iso,if=none,id=boot0,media=cdrom,readonly=on',
    ]);
  });

  it('keeps output off any display and on the serial port', () => {
    const args = buildQemuArgs(iso);
    expect(args).toContain('-nographic');
    expect(valuesOf(args, '-serial')).toEqual(['stdio']);
    expect(args).not.toContain('-monitor');
    expect(args).toContain('-no-reboot');
  });

  it('boots the network through qemu\'s iPXE ROM, after a blank disk given an earlier boot index, with the RAM a live root needs', () => {
    const args = buildQemuArgs({
      artifact: 'http://10.0.2.2:8080/boot.ipxe',
      kind: 'netboot',
      firmware: 'bios',
      accel: ['tcg'],
      drives: [{ file: '/w/blank.raw', bootindex: 0 }],
    });
    expect(valuesOf(args, '-netdev')).toEqual(['user,id=net0,bootfile=http://10.0.2.2:8080/boot.ipxe']);
    expect(valuesOf(args, '-device')).toContain('virtio-net-pci,netdev=net0,bootindex=9');
    expect(valuesOf(args, '-device')).toContain('virtio-blk-pci,drive=drive1,bootindex=0');
    expect(valuesOf(args, '-m')).toEqual(['2560']);
    expect(args.some((arg) => arg.includes('romfile='))).toBe(false);
  });
});

describe('escapeOptionValue', () => {
  it('doubles every comma and leaves the rest alone', () => {
    expect(escapeOptionValue('/a,b,,c d')).toBe('/a,,b,,,,c d');
  });
});
