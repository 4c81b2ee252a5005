import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '../errors.js';
import type { CompressionSpec, DiskSpec, ResolvedDiskSpec, ResolvedSpec, SizeSpec, Spec, SpecOverrides } from './types.js';
import { validateSpec } from './validate.js';

/** Read os.yaml, check it against the schema and resolve it with the overrides. */
export function loadSpec(specPath: string, overrides: SpecOverrides = {}): ResolvedSpec {
  const absolute = resolve(specPath);
  if (!existsSync(absolute)) {
    throw new UserError(`spec file not found: ${absolute}`, 'run from the repository root or pass --spec PATH');
  }
  return resolveSpec(parseSpec(readFileSync(absolute, 'utf8'), absolute), absolute, overrides);
}

export function parseSpec(text: string, source: string): Spec {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new UserError(
      `${source} is not valid YAML:\n${document.errors.map((e) => `  - ${e.message}`).join('\n')}`,
      'fix the YAML syntax at the line shown',
    );
  }
  return validateSpec(document.toJS(), source);
}

const defaultCompression: Record<'dev' | 'release', CompressionSpec> = {
  dev: { compression: 'zstd', level: 3 },
  release: { compression: 'xz' },
};

/** Apply defaults and overrides, resolve paths against the spec's directory, and check they exist. */
export function resolveSpec(spec: Spec, specPath: string, overrides: SpecOverrides = {}): ResolvedSpec {
  const root = dirname(specPath);
  const profileName = overrides.profile ?? spec.profile;
  const profile = spec.profiles[profileName];
  if (!profile) {
    throw new UserError(
      `profile "${profileName}" is not defined in ${specPath}`,
      `choose one of: ${Object.keys(spec.profiles).join(', ')}`,
    );
  }
  const repository = overrides.repository ?? spec.image.repository;
  const tag = overrides.tag ?? spec.image.tag;
  checkImageName(repository, tag);

  const mode = overrides.release ? 'release' : 'dev';
  const squashfs: CompressionSpec = { ...(spec.artifacts?.squashfs?.[mode] ?? defaultCompression[mode]) };
  if (overrides.compression) {
    squashfs.compression = overrides.compression;
    delete squashfs.level;
  }
  if (overrides.compressionLevel !== undefined) squashfs.level = overrides.compressionLevel;

  const layers = profile.layers.map((layer, index) => {
    const contextDir = resolve(root, layer.context);
    const dockerfile = layer.dockerfile ?? 'Dockerfile';
    const where = `profiles.${profileName}.layers[${index}]`;
    if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) {
      throw new UserError(`${where} (${layer.name}): build context ${contextDir} does not exist`, 'create the directory or fix "context" in os.yaml');
    }
    if (!existsSync(join(contextDir, dockerfile))) {
      throw new UserError(`${where} (${layer.name}): no ${dockerfile} in ${contextDir}`, 'add the Dockerfile or set "dockerfile" in os.yaml');
    }
    return { name: layer.name, contextDir, dockerfile, args: layer.args ?? {} };
  });
  const names = layers.map((l) => l.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new UserError(`profiles.${profileName}.layers: layer name "${duplicate}" is used twice`, 'give every layer its own name');

  const overlays = (spec.overlays ?? []).map((overlay, index) => {
    const dir = resolve(root, overlay);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UserError(`overlays[${index}]: directory ${dir} does not exist`, 'create it or remove it from "overlays" in os.yaml');
    }
    return dir;
  });

  return {
    specPath,
    image: { repository, tag, ref: `${repository}:${tag}` },
    os: { name: spec.os?.name ?? 'RancherOS', version: spec.os?.version ?? tag },
    profile: profileName,
    base: profile.base,
    layers,
    overlays,
    boot: {
      cmdline: spec.boot?.cmdline ?? '',
      consoles: spec.boot?.consoles ?? ['tty0', 'ttyS0,115200'],
      title: spec.boot?.title ?? spec.os?.name ?? 'RancherOS',
      timeout: spec.boot?.timeout ?? 3,
    },
    squashfs,
    iso: {
      name: (spec.artifacts?.iso?.name ?? 'rancheros-{tag}.iso').replace(/\{tag\}/g, tag),
      volumeLabel: spec.artifacts?.iso?.volumeLabel ?? 'RANCHEROS',
    },
    disk: resolveDisk(spec.artifacts?.disk ?? {}, tag),
    persistentPaths: resolvePersistentPaths(spec.persistence?.paths ?? DEFAULT_PERSISTENT_PATHS),
    outputDir: resolve(overrides.outputDir ?? join(root, 'build')),
  };
}

/**
 * What an installed system keeps by default (k3OS and rke2OS's promise: all
 * of /var, /usr/local, /home, /opt and /root), and the /etc subtrees whose
 * contents are the node's own: SSH host keys, Kubernetes' and CNI's
 * configuration, the iSCSI initiator name, network units.
 */
export const DEFAULT_PERSISTENT_PATHS = ['/var', '/usr/local', '/home', '/opt', '/root', '/etc/ssh', '/etc/rancher', '/etc/cni', '/etc/iscsi', '/etc/systemd/network'];

/**
 * Paths that must stay the image's own (the OS itself, /etc which the
 * configuration rebuilds on every boot, the kernel's file systems, /oem): a
 * persistent overlay over them would keep a node's changes over the next image.
 */
const IMAGE_PATHS = ['/', '/usr', '/boot', '/bin', '/sbin', '/lib', '/lib64', '/etc', '/proc', '/sys', '/dev', '/run', '/tmp', '/oem'];

export function resolvePersistentPaths(paths: string[]): string[] {
  return paths.map((path, index) => {
    const where = `persistence.paths[${index}]`;
    if (!path.startsWith('/')) throw new UserError(`${where}: "${path}" is not an absolute path`, 'write it from the root, e.g. /var/lib/myapp');
    if (/\s/.test(path)) throw new UserError(`${where}: "${path}" contains white space`, 'the node reads the list word by word: rename the directory');
    const normalized = path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    if (normalized.split('/').some((part) => part === '.' || part === '..')) {
      throw new UserError(`${where}: "${path}" contains "." or ".."`, 'write the plain absolute path');
    }
    const underUsr = normalized.startsWith('/usr/') && !normalized.startsWith('/usr/local');
    if (IMAGE_PATHS.includes(normalized) || underUsr || normalized.startsWith('/boot/')) {
      throw new UserError(
        `${where}: "${path}" would hide the OS image`,
        'persist a directory below it instead (e.g. /var/lib/myapp, /etc/myapp, /usr/local); the image itself is read-only by design',
      );
    }
    return normalized;
  });
}

export function parseSize(value: SizeSpec, where: string): number {
  if (typeof value === 'number') return value * 2 ** 20;
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(MiB|GiB|M|G)$/.exec(value);
  if (!match) throw new UserError(`${where}: cannot read size "${value}"`, 'write e.g. "512MiB" or "8GiB"');
  const unit = match[2]!.startsWith('G') ? 2 ** 30 : 2 ** 20;
  return Math.ceil((Number(match[1]) * unit) / 2 ** 20) * 2 ** 20;
}

function resolveDisk(disk: DiskSpec, tag: string): ResolvedDiskSpec {
  const partitions: ResolvedDiskSpec['partitions'] = {};
  for (const [name, size] of Object.entries(disk.partitions ?? {})) {
    partitions[name as keyof ResolvedDiskSpec['partitions']] = parseSize(size, `artifacts.disk.partitions.${name}`);
  }
  return {
    name: (disk.name ?? 'rancheros-{tag}').replace(/\{tag\}/g, tag),
    sizeBytes: disk.size === undefined ? undefined : parseSize(disk.size, 'artifacts.disk.size'),
    formats: disk.formats ?? ['raw'],
    partitions,
  };
}

function checkImageName(repository: string, tag: string): void {
  if (!/^([a-zA-Z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(repository)) {
    throw new UserError(`image repository "${repository}" is not a valid name`, 'use lowercase letters, digits and separators, e.g. rancher/os2');
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
    throw new UserError(`image tag "${tag}" is not a valid tag`, 'use letters, digits, "_", "." and "-", at most 128 characters');
  }
}
