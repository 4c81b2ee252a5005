/**
 * The data sources a node probes when its configuration names none
 * (`ros.data_sources` unset): those of the platform its disk was made for.
 * The disk builder names the platform on the kernel command line as
 * `ros.platform=FORMAT` (src/artifacts/formats/format.ts), so one OS image
 * gives six media that each find their own cloud's metadata by themselves.
 */
import type { DataSourceName } from './types.js';

export const PLATFORM_DATA_SOURCES: Readonly<Record<string, readonly DataSourceName[]>> = Object.freeze({
  // A raw disk runs anywhere: a NoCloud or config-2 volume is the one source that costs nothing when absent.
  raw: ['cdrom'],
  // OpenStack: the config drive when the cloud attaches one, the metadata service otherwise.
  qcow2: ['cdrom', 'openstack'],
  vhd: ['azure'],
  // vSphere: the OVF environment on a CD-ROM (vApp options), or a NoCloud volume.
  vmdk: ['ovf', 'cdrom'],
  ova: ['ovf'],
  gce: ['gcp'],
  ami: ['aws'],
});

/** The platform's sources; none for a medium without a platform (the live ISO) or one this node does not know. */
export function platformDataSources(platform: string | undefined): readonly DataSourceName[] {
  return platform !== undefined && Object.hasOwn(PLATFORM_DATA_SOURCES, platform) ? PLATFORM_DATA_SOURCES[platform]! : [];
}
