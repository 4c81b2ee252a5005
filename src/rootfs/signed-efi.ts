/**
 * The distribution's signed UEFI boot chain, as its packages install it in
 * the image: shim (signed by Microsoft, the distribution's key inside), the
 * distribution's signed GRUB, and MokManager (shim's tool to enrol a
 * Machine Owner Key). Captured from the rootfs export like the kernel, so
 * the ISO and the disks boot with Secure Boot on with the image's own chain,
 * never with a GRUB made on the build host.
 */

/** The chain's parts: GRUB comes as two images on Debian, one for disks and one for CD-ROMs, with different built-in prefixes. */
export type SignedEfiRole = 'shim' | 'mokManager' | 'grubDisk' | 'grubCd';

export type SignedEfiDistro = 'debian' | 'opensuse';

interface SignedEfiSource {
  distro: SignedEfiDistro;
  roles: readonly SignedEfiRole[];
}

/** Where each distribution's packages put the signed files (paths as in the export: no leading slash). */
export const SIGNED_EFI_SOURCES: Readonly<Record<string, SignedEfiSource>> = {
  // Debian: shim-signed, shim-helpers-amd64-signed, grub-efi-amd64-signed.
  'usr/lib/shim/shimx64.efi.signed': { distro: 'debian', roles: ['shim'] },
  'usr/lib/shim/mmx64.efi.signed': { distro: 'debian', roles: ['mokManager'] },
  'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed': { distro: 'debian', roles: ['grubDisk'] },
  'usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed': { distro: 'debian', roles: ['grubCd'] },
  // openSUSE: shim and grub2-x86_64-efi (one GRUB image for both). Untested here: no openSUSE mirror.
  'usr/share/efi/x86_64/shim.efi': { distro: 'opensuse', roles: ['shim'] },
  'usr/share/efi/x86_64/MokManager.efi': { distro: 'opensuse', roles: ['mokManager'] },
  'usr/share/efi/x86_64/grub.efi': { distro: 'opensuse', roles: ['grubDisk', 'grubCd'] },
};

/** A complete chain: paths of the files, by role. */
export interface SignedEfiChain {
  distro: SignedEfiDistro;
  shim: string;
  grubDisk: string;
  grubCd: string;
  /** Needed only to enrol a key of one's own; the chain boots without it. */
  mokManager?: string;
}

/**
 * Where the signed GRUB looks for its configuration, relative to the device
 * it was loaded from. Debian's images (debian/build-efi-images in its grub2
 * packaging) have /EFI/debian (disk) or /boot/grub (CD) built in as prefix
 * and source $prefix/grub.cfg. openSUSE's is a guess: say so if you test it.
 */
export const SIGNED_GRUB_CONFIG: Readonly<Record<SignedEfiDistro, { disk: string; cd: string }>> = {
  debian: { disk: 'EFI/debian/grub.cfg', cd: 'boot/grub/grub.cfg' },
  opensuse: { disk: 'EFI/BOOT/grub.cfg', cd: 'EFI/BOOT/grub.cfg' },
};

/**
 * Where an ESP keeps the chain: the firmware's removable-media path is shim,
 * which loads GRUB (and MokManager) from its own directory by these names.
 * The builder lays ESPs out with it and a node's upgrade replaces them by it.
 */
export const ESP_BOOT_DIR = 'EFI/BOOT';
export const ESP_CHAIN_NAMES = { shim: 'BOOTX64.EFI', grub: 'grubx64.efi', mokManager: 'mmx64.efi' } as const;

/** The chain found among captured files (role → path), if the image carries all of it. */
export function pickSignedEfiChain(found: ReadonlyArray<{ path: string }>): SignedEfiChain | undefined {
  for (const distro of ['debian', 'opensuse'] as const) {
    const byRole: Partial<Record<SignedEfiRole, string>> = {};
    for (const { path } of found) {
      const source = SIGNED_EFI_SOURCES[path];
      if (source?.distro === distro) for (const role of source.roles) byRole[role] = path;
    }
    const { shim, grubDisk, grubCd, mokManager } = byRole;
    if (shim && grubDisk && grubCd) return { distro, shim, grubDisk, grubCd, ...(mokManager ? { mokManager } : {}) };
  }
  return undefined;
}
