/**
 * Types shared by the data sources and the prober. index.ts re-exports the
 * public ones; the source modules import them from here so that no source
 * imports index.ts (which imports every source).
 */

export const DATA_SOURCE_NAMES = ['cdrom', 'aws', 'gcp', 'azure', 'openstack', 'ovf', 'digitalocean', 'hetzner', 'packet', 'scaleway', 'vultr'] as const;
export type DataSourceName = (typeof DATA_SOURCE_NAMES)[number];

export interface UserData {
  source: DataSourceName;
  /** The raw user data as text (decoded if the protocol encodes it, e.g. Azure's base64; gunzipped if gzip-compressed), undefined when the source answered but holds none. */
  userData?: string;
  /** SSH public keys the metadata offers (e.g. EC2 public-keys, NoCloud meta-data public-keys, config-2 meta_data.json public_keys). */
  sshKeys: string[];
  /** Hostname from the metadata, when offered (local-hostname / hostname). */
  hostname?: string;
}

/** What one source found; the prober adds the source's name. */
export type SourceAnswer = Omit<UserData, 'source'>;

/** A volume that may hold NoCloud (`cidata`) or config-2 data. */
export interface CdromVolume {
  /** Block device, e.g. /dev/disk/by-label/cidata. */
  device: string;
  label: string;
  kind: 'nocloud' | 'config-2';
}

export interface MountedVolume {
  dir: string;
  /** Unmount and remove the mount point. */
  unmount: () => Promise<void>;
}

/** How the cdrom, ovf and azure sources find and read discs: replaced in tests, where nothing is mounted. */
export interface CdromAccess {
  findCdromVolumes: () => Promise<CdromVolume[]>;
  /** The machine's optical drives (/dev/sr0 …), whatever their disc's label: where an OVF environment comes. */
  findOpticalDrives: () => Promise<string[]>;
  mountReadOnly: (device: string) => Promise<MountedVolume>;
}

export interface ProbeOptions {
  /** Per-source budget; a source that does not answer within it is skipped with a line. */
  timeoutMs: number;
  /** One line per event, e.g. "data source aws: no answer within 2000 ms". */
  log: (line: string) => void;
  /** Base URL per source, for tests (default: the documented endpoint, e.g. http://169.254.169.254). */
  endpoints?: Partial<Record<DataSourceName, string>>;
  /** How cdrom finds and reads volumes; default implementation uses /dev/disk/by-label and mount. */
  cdrom?: CdromAccess;
}

/** What a source's probe gets: where to ask, when to give up, where to note problems. */
export interface ProbeContext {
  /** Base URL without a trailing slash (unused by cdrom). */
  baseUrl: string;
  /** Aborted when the budget is spent or another source has won. */
  signal: AbortSignal;
  /** A line about this source; the prober prefixes "data source NAME: ". */
  warn: (message: string) => void;
  cdrom: CdromAccess;
}

/**
 * A probe resolves when its source answered (possibly without user data) and
 * throws, with the reason as the message, when the source is not there.
 */
export type Probe = (context: ProbeContext) => Promise<SourceAnswer>;
