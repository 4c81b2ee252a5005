/**
 * Cloud data sources for the node's runtime phase (`ros.data_sources`, see
 * docs/configuration.md): where user data, SSH keys and a hostname come from on a cloud
 * or a config drive. Each follows its cloud's documented protocol; the qemu
 * tests prove them against local stand-ins (README: which ones).
 */
import { probeAws, AWS_ENDPOINT } from './aws.js';
import { probeAzure, AZURE_ENDPOINT } from './azure.js';
import { createDefaultCdromAccess, probeCdrom } from './cdrom.js';
import { probeDigitalOcean, DIGITALOCEAN_ENDPOINT } from './digitalocean.js';
import { probeGcp, GCP_ENDPOINT } from './gcp.js';
import { probeHetzner, HETZNER_ENDPOINT } from './hetzner.js';
import { probeOpenStack, OPENSTACK_ENDPOINT } from './openstack.js';
import { probeOvf } from './ovf.js';
import { probePacket, PACKET_ENDPOINT } from './packet.js';
import { probeInOrder, type ProbeTask } from './probe-in-order.js';
import { probeScaleway, SCALEWAY_ENDPOINT } from './scaleway.js';
import { DATA_SOURCE_NAMES, type DataSourceName, type Probe, type ProbeOptions, type SourceAnswer, type UserData } from './types.js';
import { probeVultr, VULTR_ENDPOINT } from './vultr.js';

export { DATA_SOURCE_NAMES } from './types.js';
export type { CdromAccess, CdromVolume, DataSourceName, MountedVolume, ProbeOptions, UserData } from './types.js';
export { createDefaultCdromAccess, findCdromVolumes, findOpticalDrives, mountReadOnly } from './cdrom.js';
export { readConfigDriveDir } from './config-drive.js';
export { readNoCloudDir } from './nocloud.js';

const SOURCES: Record<DataSourceName, { probe: Probe; endpoint: string }> = {
  cdrom: { probe: probeCdrom, endpoint: '' },
  aws: { probe: probeAws, endpoint: AWS_ENDPOINT },
  gcp: { probe: probeGcp, endpoint: GCP_ENDPOINT },
  azure: { probe: probeAzure, endpoint: AZURE_ENDPOINT },
  openstack: { probe: probeOpenStack, endpoint: OPENSTACK_ENDPOINT },
  ovf: { probe: probeOvf, endpoint: '' },
  digitalocean: { probe: probeDigitalOcean, endpoint: DIGITALOCEAN_ENDPOINT },
  hetzner: { probe: probeHetzner, endpoint: HETZNER_ENDPOINT },
  packet: { probe: probePacket, endpoint: PACKET_ENDPOINT },
  scaleway: { probe: probeScaleway, endpoint: SCALEWAY_ENDPOINT },
  vultr: { probe: probeVultr, endpoint: VULTR_ENDPOINT },
};

/** Probe the named sources; the first in the given order that answers wins. Unknown names: a log line, skipped. */
export async function fetchUserData(names: readonly string[], options: ProbeOptions): Promise<UserData | undefined> {
  // A log callback that throws must not turn into an exception here: the boot goes on without user data, never stops.
  const log = (line: string) => {
    try {
      options.log(line);
    } catch {
      // Nothing better to do with a broken logger.
    }
  };
  try {
    const tasks = selectTasks(names, options, log);
    const winner = await probeInOrder(tasks, options.timeoutMs, (name, reason) => log(`data source ${name}: ${reason}`));
    if (winner === undefined) return undefined;
    log(`data source ${winner.name}: ${describeAnswer(winner.value)}`);
    return { source: winner.name, ...winner.value };
  } catch (error) {
    log(`data sources: ${(error as Error).message}`);
    return undefined;
  }
}

/** One task per known name, in order, each name once; names are matched without regard to case or surrounding blanks. */
function selectTasks(names: readonly string[], options: ProbeOptions, log: (line: string) => void): ProbeTask<DataSourceName, SourceAnswer>[] {
  const cdrom = options.cdrom ?? createDefaultCdromAccess();
  const tasks: ProbeTask<DataSourceName, SourceAnswer>[] = [];
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (!isDataSourceName(name)) {
      log(`data source ${raw}: unknown, skipped (known: ${DATA_SOURCE_NAMES.join(', ')})`);
      continue;
    }
    if (tasks.some((task) => task.name === name)) continue;
    const { probe, endpoint } = SOURCES[name];
    const baseUrl = (options.endpoints?.[name] ?? endpoint).replace(/\/+$/, '');
    const warn = (message: string) => log(`data source ${name}: ${message}`);
    tasks.push({ name, run: (signal) => probe({ baseUrl, signal, warn, cdrom }) });
  }
  return tasks;
}

function isDataSourceName(name: string): name is DataSourceName {
  return (DATA_SOURCE_NAMES as readonly string[]).includes(name);
}

function describeAnswer(answer: SourceAnswer): string {
  const parts = [answer.userData === undefined ? 'no user data' : `user data (${Buffer.byteLength(answer.userData)} bytes)`, `${answer.sshKeys.length} SSH key${answer.sshKeys.length === 1 ? '' : 's'}`];
  if (answer.hostname !== undefined) parts.push(`hostname ${answer.hostname}`);
  return `answered: ${parts.join(', ')}`;
}
