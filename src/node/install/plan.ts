/**
 * Everything the installer checks before it writes a byte: the device, the
 * medium, the layout for this device's size, the configuration. A refusal
 * names the problem and the fix (UserError); after planInstall returns, only
 * the hardware can still say no.
 */
import { randomUUID } from 'node:crypto';
import { formatSize, formatSizeDown, minimumDiskBytes, planDiskLayout, type DiskLayout } from '../../disk/layout.js';
import { UserError } from '../../errors.js';
import { readBootState } from '../boot-state.js';
import type { NodeSystem } from '../system.js';
import { loadInstallConfig, type InstallConfigFile } from './config-file.js';
import { findUsers, inspectDevice, type BlockDevice } from './devices.js';
import { requireExistingLayout, type ExistingLayout } from './existing-layout.js';
import { readMedium, type Medium } from './medium.js';
import type { InstallRequest } from './request.js';
import type { InstallImage } from './image.js';
import { formatBytes } from '../../format-bytes.js';

export interface InstallPlan {
  request: InstallRequest;
  disk: BlockDevice;
  medium: Medium;
  /** The new partition table (a formatting install). */
  layout?: DiskLayout;
  /** The partitions kept (no_format). */
  existing?: ExistingLayout;
  config?: InstallConfigFile;
  /** ros.install.image: what the slots get instead of the medium's image (its boot pieces still come from the medium). */
  image?: InstallImage;
}

/** An installed system never installs over itself: that is what `ros upgrade` is for. */
export async function refuseInstalledSystem(system: NodeSystem): Promise<void> {
  const boot = await readBootState(system.root);
  if (boot.slot) {
    throw new UserError(
      `this is an installed system (booted from its ${boot.slot} image${boot.device ? ` on ${boot.device}` : ''}), not the live medium`,
      'boot the ISO to install, or use `ros upgrade` to change the image of this one',
    );
  }
}

/** The device, checked: it exists, is a whole disk, writable, unused, and big enough (when it is to be formatted). */
export async function checkDevice(system: NodeSystem, path: string, imageBytes: number, options: { checkSize: boolean }): Promise<BlockDevice> {
  const disk = await inspectDevice(system, path);
  if (!disk) {
    throw new UserError(`no such disk: ${path}`, 'give a whole disk such as /dev/vda, /dev/sda or /dev/nvme0n1 (`lsblk -d` lists them)');
  }
  if (disk.partitionOf) {
    throw new UserError(`${path} is a partition of /dev/${disk.partitionOf}, not a whole disk`, `give the whole disk (/dev/${disk.partitionOf}): the installer writes its own partition table`);
  }
  if (disk.readOnly) {
    throw new UserError(`${path} is read-only`, 'give a writable disk (a CD-ROM or a write-protected medium cannot be installed to)');
  }
  const users = await findUsers(system, disk);
  if (users.length > 0) {
    throw new UserError(
      `${path} is in use: ${users.join('; ')}`,
      'unmount its partitions (and stop swap, LVM or RAID on them) first; the disk the live medium was booted from cannot be installed to',
    );
  }
  if (options.checkSize && disk.sizeBytes < minimumDiskBytes(imageBytes)) {
    const minimum = minimumDiskBytes(imageBytes);
    throw new UserError(
      `${path} is too small: it has ${formatSizeDown(disk.sizeBytes)}, and this system (an image of ${formatSize(imageBytes)}) needs at least ${formatSize(minimum)}`,
      `use a disk of ${formatSize(minimum)} or more`,
    );
  }
  return disk;
}

/**
 * The whole install, checked, for a request that names its device. The
 * layout's GUIDs come from a random seed: two machines installed from one ISO
 * must not share partition GUIDs.
 */
export async function planInstall(
  system: NodeSystem,
  request: InstallRequest & { device: string },
  known: { medium?: Medium; config?: InstallConfigFile; image?: InstallImage } = {},
): Promise<InstallPlan> {
  await refuseInstalledSystem(system);
  const source = known.medium ?? (await readMedium(system));
  const { image } = known;
  const imageBytes = image?.estimatedBytes ?? source.imageBytes;
  const disk = await checkDevice(system, request.device, imageBytes, { checkSize: !request.noFormat });
  const config = known.config ?? (request.configSource ? await loadInstallConfig(system, request.configSource) : undefined);
  if (request.noFormat) {
    return { request, disk, medium: source, existing: await requireExistingLayout(system, disk, imageBytes), config, image };
  }
  const layout = planDiskLayout({ imageBytes, deviceBytes: disk.sizeBytes, deviceName: request.device, seed: randomUUID(), oemContentBytes: source.bundle?.bytes });
  return { request, disk, medium: source, layout, config, image };
}

/** What the confirmation shows: the disk, and what on it is about to go. */
export function describePlan(plan: InstallPlan): string[] {
  const disk = `${plan.disk.path}${plan.disk.path === plan.disk.devicePath ? '' : ` (${plan.disk.devicePath})`}, ${formatBytes(plan.disk.sizeBytes)}${plan.disk.model ? `, ${plan.disk.model}` : ''}`;
  const lines = plan.layout
    ? [`ERASE everything on ${disk}, and write:`, ...plan.layout.partitions.map((p) => `  ${String(p.number).padStart(2)} ${p.name.padEnd(15)} ${formatSize(p.sizeBytes)}`)]
    : [`Keep the partitions of ${disk}; replace the images on COS_STATE and COS_RECOVERY and the boot code (COS_PERSISTENT and COS_OEM stay)`];
  if (plan.image) lines.push(`image: ${plan.image.reference} (pulled from its registry, not the running system)`);
  lines.push(plan.config ? `configuration: ${plan.config.source} (to COS_OEM/cloud-config.yaml)` : 'configuration: none (nobody can log in until one is given, e.g. on COS_OEM or the kernel command line)');
  return lines;
}
