/** The build spec as written in os.yaml (see schema/os.schema.json). */
export interface Spec {
  image: { repository: string; tag: string };
  os?: { name?: string; version?: string };
  profile: string;
  profiles: Record<string, ProfileSpec>;
  overlays?: string[];
  boot?: { cmdline?: string; consoles?: string[]; title?: string; timeout?: number };
  artifacts?: {
    squashfs?: { dev?: CompressionSpec; release?: CompressionSpec };
    iso?: { name?: string; volumeLabel?: string };
    disk?: DiskSpec;
  };
  persistence?: { paths?: string[] };
}

/** A size as written in os.yaml: "512MiB", "8GiB", or a number of MiB. */
export type SizeSpec = string | number;

export interface DiskSpec {
  name?: string;
  size?: SizeSpec;
  formats?: string[];
  partitions?: Partial<Record<'efi' | 'oem' | 'recovery' | 'state' | 'persistent', SizeSpec>>;
}

export interface ProfileSpec {
  base: { image: string; bootstrap?: BootstrapSpec };
  layers: LayerSpec[];
}

export interface BootstrapSpec {
  tool: 'mmdebstrap';
  suite: string;
  mirror?: string;
  variant?: string;
  include?: string[];
}

export interface LayerSpec {
  name: string;
  context: string;
  dockerfile?: string;
  args?: Record<string, string>;
}

export type Compression = 'zstd' | 'xz' | 'gzip' | 'lz4';

export interface CompressionSpec {
  compression: Compression;
  level?: number;
}

/** The spec after defaults, overrides and path resolution: what a plan is made from. */
export interface ResolvedSpec {
  specPath: string;
  image: { repository: string; tag: string; ref: string };
  os: { name: string; version: string };
  profile: string;
  base: { image: string; bootstrap?: BootstrapSpec };
  layers: ResolvedLayer[];
  overlays: string[];
  boot: { cmdline: string; consoles: string[]; title: string; timeout: number };
  squashfs: CompressionSpec;
  iso: { name: string; volumeLabel: string };
  disk: ResolvedDiskSpec;
  /** Directories an installed system keeps on COS_PERSISTENT. */
  persistentPaths: string[];
  outputDir: string;
}

export interface ResolvedDiskSpec {
  /** Base file name without extension. */
  name: string;
  /** Bytes; undefined: as small as the layout allows. */
  sizeBytes?: number;
  formats: string[];
  /** Bytes, for the partitions os.yaml sizes; the others get defaults from the image size. */
  partitions: Partial<Record<'efi' | 'oem' | 'recovery' | 'state' | 'persistent', number>>;
}

export interface ResolvedLayer {
  name: string;
  contextDir: string;
  dockerfile: string;
  args: Record<string, string>;
}

/** Command-line and environment overrides, applied over os.yaml. */
export interface SpecOverrides {
  repository?: string;
  tag?: string;
  profile?: string;
  release?: boolean;
  compression?: Compression;
  compressionLevel?: number;
  outputDir?: string;
}
