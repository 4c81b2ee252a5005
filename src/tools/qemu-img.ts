/**
 * Argument builders for `qemu-img`: converting the raw GPT disk into the
 * formats hypervisors and clouds take, and reading the results back.
 *
 * The input is always named with `-f raw`: qemu-img would otherwise probe it,
 * and a raw disk whose first sector happens to look like another format's
 * header (a guest can write anything there) would be read as that format.
 * For the same reason a fixed VHD must be read with `-f vpc`: it has no
 * header, only a footer, so probing calls it raw.
 *
 * No `-W` (out-of-order writes) anywhere: with it, the order of clusters in a
 * qcow2 depends on timing, and two conversions of one disk differ.
 */

/** The image formats qemu-img names them (a VHD is "vpc" to qemu). */
export type QemuImageFormat = 'raw' | 'qcow2' | 'vpc' | 'vmdk';

export interface ConvertOptions {
  inputPath: string;
  outputPath: string;
  outputFormat: QemuImageFormat;
  /** Format-specific creation options, as `-o key=value,...`, in this order. */
  createOptions?: ReadonlyArray<readonly [string, string]>;
  /** Compress the output clusters (qcow2 only; `-c`). */
  compress?: boolean;
}

/** `-o` takes a comma-separated list; a comma inside a value would be read as a separator. */
function formatCreateOptions(options: ReadonlyArray<readonly [string, string]>): string {
  return options
    .map(([key, value]) => {
      if (!/^[a-z0-9_]+$/.test(key)) throw new Error(`invalid qemu-img creation option name: ${key}`);
      if (value.includes(',')) throw new Error(`qemu-img creation option ${key} has a comma in its value: ${value}`);
      return `${key}=${value}`;
    })
    .join(',');
}

/** `qemu-img convert` from a raw disk into `outputFormat`. */
export function buildConvertArgs(options: ConvertOptions): string[] {
  const args = ['convert', '-q', '-f', 'raw', '-O', options.outputFormat];
  if (options.compress) args.push('-c');
  if (options.createOptions?.length) args.push('-o', formatCreateOptions(options.createOptions));
  args.push(options.inputPath, options.outputPath);
  return args;
}

/**
 * qcow2 for KVM/OpenStack/Proxmox: compressed clusters (a mostly empty disk
 * becomes small), compat=1.1 (QEMU 1.1+, the format everything reads today).
 */
export function buildQcow2ConvertArgs(inputPath: string, outputPath: string): string[] {
  return buildConvertArgs({ inputPath, outputPath, outputFormat: 'qcow2', compress: true, createOptions: [['compat', '1.1']] });
}

/**
 * A fixed VHD for Azure. force_size keeps the virtual size exactly the raw
 * size: without it qemu rounds it to a CHS geometry, which is not a whole MiB
 * and Azure refuses the disk.
 */
export function buildVhdConvertArgs(inputPath: string, outputPath: string): string[] {
  return buildConvertArgs({
    inputPath,
    outputPath,
    outputFormat: 'vpc',
    createOptions: [
      ['subformat', 'fixed'],
      ['force_size', 'on'],
    ],
  });
}

/**
 * A streamOptimized VMDK for vSphere/ESXi (the kind OVAs carry and
 * `govc import.vmdk` uploads), on an LSI Logic adapter, hardware version 6
 * (compat6), which every ESXi accepts.
 */
export function buildVmdkConvertArgs(inputPath: string, outputPath: string): string[] {
  return buildConvertArgs({
    inputPath,
    outputPath,
    outputFormat: 'vmdk',
    createOptions: [
      ['subformat', 'streamOptimized'],
      ['adapter_type', 'lsilogic'],
      ['compat6', 'on'],
    ],
  });
}

/** `qemu-img info` as JSON; the format is named, never probed. */
export function buildInfoArgs(path: string, format: QemuImageFormat): string[] {
  return ['info', '--output=json', '-f', format, path];
}

/** `qemu-img check`: consistency of qcow2/vmdk metadata (exit 0 when clean). */
export function buildCheckArgs(path: string, format: QemuImageFormat): string[] {
  return ['check', '-q', '-f', format, path];
}

/** `qemu-img compare`: exit 0 when both images show the same guest-visible bytes. */
export function buildCompareArgs(first: { path: string; format: QemuImageFormat }, second: { path: string; format: QemuImageFormat }): string[] {
  return ['compare', '-q', '-f', first.format, '-F', second.format, first.path, second.path];
}
