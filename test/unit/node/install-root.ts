/**
 * A live node for the installer's unit tests, in a temporary directory: sysfs
 * disks and partitions, /proc files, the live medium with stand-in images and
 * boot pieces, and a NodeSystem that records programs instead of running
 * them (sgdisk or mkfs on this machine's disks would be a disaster).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { patchCoreImage } from '../../../src/disk/bios-boot.js';
import type { NodeSystem, RunOptions, RunResult } from '../../../src/node/system.js';

export interface Recorded {
  file: string;
  args: readonly string[];
  options?: RunOptions;
}

export interface TestRoot {
  root: string;
  write(path: string, content: string | Buffer): void;
  /** A disk in sysfs (and its /dev node as a plain file). */
  addDisk(name: string, options: { bytes: number; model?: string; readOnly?: boolean; dev: string; virtual?: boolean }): void;
  addPartition(disk: string, name: string, options: { number: number; startSector: number; bytes: number; dev: string }): void;
  remove(): void;
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export function createTestRoot(): TestRoot {
  const root = mkdtempSync(join(tmpdir(), 'ros-install-unit-'));
  const write = (path: string, content: string | Buffer) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  mkdirSync(join(root, 'sys/class/block'), { recursive: true });
  write('proc/self/mountinfo', '22 1 0:21 / / rw,relatime - overlay overlay rw\n');
  write('proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n');
  write('proc/cmdline', 'quiet console=ttyS0\n');
  return {
    root,
    write,
    addDisk(name, options) {
      const dir = `sys/block/${name}`;
      write(`${dir}/size`, `${options.bytes / 512}\n`);
      write(`${dir}/ro`, options.readOnly ? '1\n' : '0\n');
      write(`${dir}/dev`, `${options.dev}\n`);
      if (!options.virtual) write(`${dir}/device/model`, `${options.model ?? 'QEMU HARDDISK'}   \n`);
      symlinkSync(`../../block/${name}`, join(root, 'sys/class/block', name));
      write(`dev/${name}`, '');
    },
    addPartition(disk, name, options) {
      const dir = `sys/block/${disk}/${name}`;
      write(`${dir}/partition`, `${options.number}\n`);
      write(`${dir}/start`, `${options.startSector}\n`);
      write(`${dir}/size`, `${options.bytes / 512}\n`);
      write(`${dir}/dev`, `${options.dev}\n`);
      symlinkSync(`../../block/${disk}/${name}`, join(root, 'sys/class/block', name));
      write(`dev/${name}`, '');
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The live medium: squashfs, kernel, initrd of `imageBytes` in all, and /ros/install/ with a core image patched for sector 2048. */
export function writeMedium(test: TestRoot, imageBytes = 3 * MiB): void {
  const third = Math.floor(imageBytes / 3);
  test.write('run/initramfs/live/LiveOS/squashfs.img', Buffer.alloc(imageBytes - 2 * third, 1));
  test.write('run/initramfs/live/boot/vmlinuz', Buffer.alloc(third, 2));
  test.write('run/initramfs/live/boot/initrd', Buffer.alloc(third, 3));
  // The ESP of an image with Debian's signed chain: shim, the signed GRUB, and the grub.cfg that GRUB reads.
  test.write('run/initramfs/live/ros/install/esp/EFI/BOOT/BOOTX64.EFI', 'MZ shim');
  test.write('run/initramfs/live/ros/install/esp/EFI/BOOT/grubx64.efi', 'MZ grub');
  test.write('run/initramfs/live/ros/install/esp/EFI/debian/grub.cfg', 'configfile ($root)/grub/grub.cfg\n');
  test.write('run/initramfs/live/ros/install/core.img', patchCoreImage(Buffer.alloc(30 * 1024, 5), 2048, 2048));
  test.write('run/initramfs/live/ros/install/boot.img', Buffer.alloc(512, 6));
  test.write('run/initramfs/live/ros/install/grub.cfg', 'set timeout=1\n');
}

/** Programs are recorded; `answer` may give one a result (blkid's probe of a partition, say). */
export function createRecordingSystem(root: string, answer: (file: string, args: readonly string[], options?: RunOptions) => RunResult | undefined = () => undefined): NodeSystem & { runs: Recorded[]; lines: string[] } {
  const runs: Recorded[] = [];
  const lines: string[] = [];
  return {
    root,
    runs,
    lines,
    log: (line) => lines.push(line),
    run: async (file, args, options) => {
      runs.push({ file, args, options });
      return answer(file, args, options) ?? { code: 0, output: '' };
    },
  };
}
