/**
 * Disk output formats: what turns the finished raw GPT disk into the file a
 * cloud or hypervisor takes. One module per format (raw.ts, qcow2.ts, …);
 * the registry is index.ts.
 */

export type DiskFormatName = 'raw' | 'qcow2' | 'vhd' | 'vmdk' | 'ova' | 'gce' | 'ami';

export interface ConvertInput {
  /** The raw GPT disk; its size is a whole GiB. */
  rawPath: string;
  /** Where the result goes; it appears only when complete. */
  outPath: string;
  /** Seconds since 1970 for every timestamp the format stores. */
  epoch: number;
  /** Tool invocations and their output are appended here. */
  logPath?: string;
}

export interface DiskFormat {
  name: DiskFormatName;
  /** Appended to the disk's base name, e.g. '.raw', '.qcow2', '.vhd', '.vmdk', '.gce.tar.gz', '.ami.raw'. */
  extension: string;
  /** OCI layer media type used when the file is pushed as an artifact. */
  mediaType: string;
  /**
   * Kernel arguments this platform needs beyond the spec's; [] when none.
   * The disk builder builds a separate raw disk for each distinct list.
   */
  cmdline: readonly string[];
  /**
   * The platform shows the guest's first serial port as its console log
   * (GCE serial port output, Azure boot diagnostics, EC2 get-console-output):
   * the kernel consoles must include ttyS0. Not in `cmdline`, because the
   * spec's consoles already include it by default and a second console=ttyS0
   * would change which console is /dev/console; see platformCmdline().
   */
  serialConsole: boolean;
  /**
   * How `ros-build boot` and the tests attach the file: qemu's name for its
   * format, whether qemu must not write it (streamOptimized VMDK: attach
   * with snapshot=on), and for an archive (the GCE tarball, the OVA) which
   * member is the disk, unpacked to a scratch directory first.
   */
  boot: { qemuFormat: 'raw' | 'qcow2' | 'vpc' | 'vmdk'; snapshot: boolean; member?: RegExp };
  /** Host commands it runs, with the Debian package providing each (checked up front). */
  tools: ReadonlyArray<{ command: string; package: string }>;
  /** Convert rawPath into outPath atomically: nothing partial is left on failure. */
  convert(input: ConvertInput): Promise<void>;
}

/** The kernel console the cloud platforms read (their serial log is the first UART). */
export const SERIAL_CONSOLE = 'ttyS0,115200';

/**
 * The kernel arguments a format adds to a disk whose spec has `consoles`
 * (boot.consoles, e.g. ['tty0', 'ttyS0,115200']): its own cmdline, a serial
 * console when the platform needs one and the spec has none on ttyS0, and
 * `ros.platform=NAME`, from which the node knows which cloud's metadata to
 * look for when its configuration names no data source
 * (src/node/datasources/platforms.ts).
 */
export function platformCmdline(format: Pick<DiskFormat, 'name' | 'cmdline' | 'serialConsole'>, consoles: readonly string[]): string[] {
  const hasSerial = consoles.some((console) => console === 'ttyS0' || console.startsWith('ttyS0,'));
  return [...format.cmdline, ...(format.serialConsole && !hasSerial ? [`console=${SERIAL_CONSOLE}`] : []), `ros.platform=${format.name}`];
}
