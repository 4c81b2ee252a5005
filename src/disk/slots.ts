/**
 * Where the OS images live on an installed disk: the disk builder writes
 * them, `ros` (status, rollback, and upgrade next) reads and swaps them, GRUB
 * (iso/disk-grub.cfg.hbs) and the initramfs (30ros-root) boot them by these
 * names. One image is a directory, so a swap is a rename.
 */
import { PARTITION_LABELS } from './layout.js';

export type SlotName = 'active' | 'passive' | 'recovery';

/** The slots on COS_STATE, the one on COS_RECOVERY. */
export const STATE_SLOTS: readonly SlotName[] = ['active', 'passive'];

/** A slot's directory relative to its partition's root. */
export function slotDir(slot: SlotName): string {
  return `cOS/${slot}`;
}

/**
 * Where `ros upgrade` writes a new image before it takes a slot's place (on
 * COS_STATE, or COS_RECOVERY for --recovery), and where a replaced recovery
 * image is parked until its successor is in place.
 */
export const TRANSITION_DIR = 'cOS/transition';
export const PARKED_DIR = 'cOS/.previous';

/** The files of one image, by role. */
export const IMAGE_FILES = { squashfsPath: 'rootfs.squashfs', kernelPath: 'vmlinuz', initrdPath: 'initrd' } as const;

export const STATE_LABEL = PARTITION_LABELS.state;
export const RECOVERY_LABEL = PARTITION_LABELS.recovery;
