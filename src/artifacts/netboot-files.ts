/*
 * A module of its own, importing nothing: the publisher's media types and the
 * boot code read it, and the node's `ros` bundles the publisher (ros upgrade):
 * the netboot builder's imports must not follow it there.
 */

/**
 * The files of a netboot directory by role; `format` is how build/manifest.json
 * and the registry name each (pushed as REPO:TAG-<format>), `mediaType` their
 * layer's type (shared-mime-info's where there is one).
 */
export const NETBOOT_FILES = {
  kernel: { name: 'vmlinuz', format: 'netboot-kernel', mediaType: 'application/octet-stream' },
  initrd: { name: 'initrd', format: 'netboot-initrd', mediaType: 'application/octet-stream' },
  squashfs: { name: 'rootfs.squashfs', format: 'netboot-squashfs', mediaType: 'application/vnd.squashfs' },
  medium: { name: 'medium.cpio', format: 'netboot-medium', mediaType: 'application/x-cpio' },
  script: { name: 'boot.ipxe', format: 'netboot-ipxe', mediaType: 'text/plain' },
} as const;

export type NetbootRole = keyof typeof NETBOOT_FILES;
