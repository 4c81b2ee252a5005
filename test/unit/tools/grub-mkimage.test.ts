import { describe, expect, it } from 'vitest';
import {
  buildBiosEltoritoImageArgs,
  buildEfiImageArgs,
  GRUB_BIOS_MODULES,
  GRUB_EFI_MODULES,
  renderEarlyConfig,
} from '../../../src/tools/grub-mkimage.js';

const paths = { outputPath: '/w/eltorito.img', earlyConfigPath: '/w/early.cfg' };

/** The value following `flag` in argv. */
function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
}

describe('grub-mkimage BIOS El Torito image', () => {
  const args = buildBiosEltoritoImageArgs(paths);

  it('is the exact argv: platform directory, format, prefix, early config, output, then modules', () => {
    expect(args.slice(0, 10)).toEqual([
      '-d', '/usr/lib/grub/i386-pc',
      '-O', 'i386-pc-eltorito',
      '-p', '/boot/grub',
      '-c', '/w/early.cfg',
      '-o', '/w/eltorito.img',
    ]);
    expect(args.slice(10)).toEqual([...GRUB_BIOS_MODULES]);
  });

  it('embeds what it takes to read the ISO, find it by label and boot Linux on a serial console', () => {
    for (const m of ['biosdisk', 'iso9660', 'part_msdos', 'part_gpt', 'search', 'search_label', 'normal', 'configfile', 'linux', 'serial', 'terminal', 'test', 'echo', 'loopback', 'gzio', 'boot']) {
      expect(args).toContain(m);
    }
    expect(args.filter((a) => a.startsWith('efi_'))).toEqual([]);
  });

  it('honours another GRUB library directory and extra modules without duplicates', () => {
    const custom = buildBiosEltoritoImageArgs({ ...paths, grubLibDir: '/opt/grub', extraModules: ['regexp', 'linux'] });
    expect(valueOf(custom, '-d')).toBe('/opt/grub/i386-pc');
    expect(custom.at(-1)).toBe('regexp');
    expect(custom.filter((a) => a === 'linux')).toHaveLength(1);
  });
});

describe('grub-mkimage UEFI image', () => {
  const args = buildEfiImageArgs({ outputPath: '/w/esp/EFI/BOOT/BOOTX64.EFI', earlyConfigPath: '/w/early.cfg' });

  it('makes an x86_64-efi image with the same prefix as BIOS, so both read /boot/grub/grub.cfg', () => {
    expect(valueOf(args, '-d')).toBe('/usr/lib/grub/x86_64-efi');
    expect(valueOf(args, '-O')).toBe('x86_64-efi');
    expect(valueOf(args, '-p')).toBe('/boot/grub');
    expect(valueOf(args, '-p')).toBe(valueOf(buildBiosEltoritoImageArgs(paths), '-p'));
    expect(valueOf(args, '-c')).toBe('/w/early.cfg');
    expect(valueOf(args, '-o')).toBe('/w/esp/EFI/BOOT/BOOTX64.EFI');
  });

  it('embeds the EFI video modules but not the BIOS disk driver', () => {
    expect(args.slice(10)).toEqual([...GRUB_EFI_MODULES]);
    for (const m of ['efi_gop', 'efi_uga', 'video', 'iso9660', 'search', 'linux', 'serial']) expect(args).toContain(m);
    expect(args).not.toContain('biosdisk');
  });
});

describe('GRUB early config', () => {
  it('finds the medium by its label and points prefix at /boot/grub on it', () => {
    expect(renderEarlyConfig('ROS_LIVE').split('\n')).toEqual([
      'search --no-floppy --set=root --label ROS_LIVE',
      'set prefix=($root)/boot/grub',
      '',
    ]);
  });

  it('refuses a label that would need quoting', () => {
    expect(() => renderEarlyConfig('ros live')).toThrow(/invalid volume label/);
  });
});
