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
      '-name', 'ros-build-smoke',
      '-no-user-config',
      '-nodefaults',
      '-machine', 'q35',
      '-accel', 'tcg',
      '-cpu', 'max',
      '-m', '1536',
      '-smp', '2',
      '-nographic',
      '-vga', 'none',
      '-serial', 'stdio',
      '-no-reboot',
      '-drive', 'file=/out/ros.iso,if=none,id=boot0,media=cdrom,readonly=on',
      '-device', 'ide-cd,drive=boot0,bootindex=0',
      '-netdev', 'user,id=net0',
      '-device', 'virtio-net-pci,netdev=net0,romfile=',
      '-device', 'virtio-rng-pci',
    ]);
  });

  it('attaches a qcow2 disk through virtio in snapshot mode so the artifact is never written', () => {
    const args = buildQemuArgs({ ...iso, artifact: '/out/ros.qcow2', kind: 'disk', diskFormat: 'qcow2' });
    expect(valuesOf(args, '-drive')).toEqual(['file=/out/ros.qcow2,if=none,id=boot0,format=qcow2,snapshot=on']);
    expect(valuesOf(args, '-device')).toContain('virtio-blk-pci,drive=boot0,bootindex=0');
    expect(args.some((arg) => arg.includes('cdrom') || arg.startsWith('ide-cd'))).toBe(false);
  });

  it('treats a disk without a format as raw', () => {
    const args = buildQemuArgs({ ...iso, artifact: '/out/ros.img', kind: 'disk' });
    expect(valuesOf(args, '-drive')).toEqual(['file=/out/ros.img,if=none,id=boot0,format=raw,snapshot=on']);
  });

  it('loads OVMF code read-only and the per-run vars copy writable', () => {
    const args = buildQemuArgs({ ...iso, firmware: 'uefi', ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd', ovmfVars: '/tmp/run/OVMF_VARS.fd' });
    expect(valuesOf(args, '-drive').slice(0, 2)).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/run/OVMF_VARS.fd',
    ]);
    expect(args).not.toContain('-bios');
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
});

describe('escapeOptionValue', () => {
  it('doubles every comma and leaves the rest alone', () => {
    expect(escapeOptionValue('/a,b,,c d')).toBe('/a,,b,,,,c d');
  });
});
