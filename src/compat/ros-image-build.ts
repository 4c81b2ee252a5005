#!/usr/bin/env node
/**
 * rancher/os2's `ros-image-build IMAGE FORMATS [CLOUD_CONFIG]`, mapped onto
 * ros-build: `iso` becomes `ros-build iso --image IMAGE`, every other format
 * (`qcow`, `ami`, and our own names: raw, qcow2, vhd, vmdk, gce) one
 * `ros-build disk --image IMAGE --format …`. Extra ros-build flags may follow
 * the arguments (e.g. --output-dir DIR).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const usage = `usage: ros-image-build IMAGE FORMATS [CLOUD_CONFIG] [ros-build flags…]
  FORMATS: comma-separated, e.g. iso,qcow,ami (iso, raw, qcow/qcow2, vhd, vmdk, ova, gce, ami)`;

export interface CompatCall {
  command: 'iso' | 'disk';
  args: string[];
}

/** The ros-build commands one ros-image-build call stands for. */
export function mapImageBuild(argv: readonly string[]): CompatCall[] {
  const positional = argv.filter((a, i) => !a.startsWith('-') && !(i > 0 && argv[i - 1]!.startsWith('--') && !argv[i - 1]!.includes('=')));
  const [image, formats, cloudConfig] = positional;
  if (!image || !formats) throw new Error(usage);
  const extra = argv.filter((a) => !positional.slice(0, 3).includes(a));
  const names = formats.split(',').map((f) => f.trim()).filter(Boolean);
  const common = ['--image', image, ...(cloudConfig ? ['--cloud-config', cloudConfig] : []), ...extra];
  const calls: CompatCall[] = [];
  if (names.includes('iso')) calls.push({ command: 'iso', args: common });
  const disks = names.filter((n) => n !== 'iso');
  if (disks.length > 0) calls.push({ command: 'disk', args: ['--format', disks.join(','), ...common] });
  return calls;
}

function main(): number {
  let calls: CompatCall[];
  try {
    calls = mapImageBuild(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  for (const call of calls) {
    const result = spawnSync(process.execPath, [cli, call.command, ...call.args], { stdio: 'inherit' });
    if (result.status !== 0) return result.status ?? 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
