/**
 * The Kubernetes distribution itself, the way rancherd brings it: from the
 * vendor's installer image (rancher/system-agent-installer-rke2, FROM scratch:
 * installer.sh, the release tarball and its checksum file), pulled by digest
 * with the node's registry client and checked as `ros upgrade` checks an OS
 * image. The vendor's installer runs offline with that directory as its
 * artifact path, into a prefix of its own per version under /var (the image's
 * /usr is read-only, /var is the node's and survives upgrades). Only when the
 * install is whole does the record name the new version: a power cut midway
 * leaves the old one recorded and running, and the next runtime phase starts
 * over. /etc is rebuilt at every boot, so the units the installer wrote there
 * are kept beside the prefix and put back at each boot.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesDistribution, RosConfig } from '../../config/types.js';
import { formatBytes } from '../../format-bytes.js';
import { lastLines } from '../../progress/tail.js';
import { syncPath } from '../durable.js';
import { mustRun } from '../slots/partitions.js';
import type { NodeSystem } from '../system.js';
import { BUNDLE_DIRS, BUNDLE_IMAGES_DIR } from '../../disk/bundle.js';
import { writeFileAtomic } from '../write-atomic.js';
import type { KubernetesRole } from './config.js';

/** Under the system root: persistent (/var), readable by root only (the installs hold no secret, the record says what runs). */
export const KUBERNETES_STATE_DIR = 'var/lib/rancher/ros/kubernetes';
const RECORD = 'installed.json';

export interface InstalledDistribution {
  distribution: KubernetesDistribution;
  version: string;
  /** REF@DIGEST the installer came from. */
  image: string;
  /** Absolute, as the units name it. */
  prefix: string;
}

/** The vendor's offline contract per distribution (rancher/system-agent-installer-*). */
interface InstallerLayout {
  defaultImage(version: string): string;
  artifact: string;
  checksums: string;
  script: string;
  env(artifactDir: string, prefix: string, role: KubernetesRole): Record<string, string>;
  /** What must be in the prefix before the installer runs (k3s's installer finds its binary in place). */
  place?(artifactDir: string, prefixOnDisk: string): Promise<void>;
}

/** Installer images name versions with '-' where the version has '+' (tags cannot hold '+'). */
const tagOf = (version: string) => version.replace('+', '-');

const INSTALLERS: Record<KubernetesDistribution, InstallerLayout> = {
  rke2: {
    defaultImage: (version) => `docker.io/rancher/system-agent-installer-rke2:${tagOf(version)}`,
    artifact: 'rke2.linux-amd64.tar.gz',
    checksums: 'sha256sum-amd64.txt',
    script: 'installer.sh',
    env: (artifactDir, prefix, role) => ({ INSTALL_RKE2_ARTIFACT_PATH: artifactDir, INSTALL_RKE2_METHOD: 'tar', INSTALL_RKE2_TAR_PREFIX: prefix, INSTALL_RKE2_TYPE: role }),
  },
  // k3s's install.sh with INSTALL_K3S_SKIP_DOWNLOAD uses the binary already in its bin directory; ros starts the unit.
  k3s: {
    defaultImage: (version) => `docker.io/rancher/system-agent-installer-k3s:${tagOf(version)}`,
    artifact: 'k3s',
    checksums: 'sha256sum-amd64.txt',
    script: 'installer.sh',
    env: (_artifactDir, prefix, role) => ({
      INSTALL_K3S_SKIP_DOWNLOAD: 'true',
      INSTALL_K3S_BIN_DIR: `${prefix}/bin`,
      INSTALL_K3S_EXEC: role,
      INSTALL_K3S_SKIP_ENABLE: 'true',
      INSTALL_K3S_SKIP_START: 'true',
      INSTALL_K3S_SKIP_SELINUX_RPM: 'true',
    }),
    async place(artifactDir, prefixOnDisk) {
      await mkdir(join(prefixOnDisk, 'bin'), { recursive: true });
      await copyFile(join(artifactDir, 'k3s'), join(prefixOnDisk, 'bin/k3s'));
      await chmod(join(prefixOnDisk, 'bin/k3s'), 0o755);
    },
  },
};

/** The unit that runs a distribution in a role: rke2-server.service, k3s-agent.service … */
export function serviceUnit(distribution: KubernetesDistribution, role: KubernetesRole): string {
  return distribution === 'k3s' ? (role === 'server' ? 'k3s.service' : 'k3s-agent.service') : `rke2-${role}.service`;
}

export async function readInstalled(root: string): Promise<InstalledDistribution | undefined> {
  const text = await readFile(join(root, KUBERNETES_STATE_DIR, RECORD), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as InstalledDistribution) : undefined;
}

/** Whether the configuration names a version (or image) other than the one installed: the runtime phase then installs it. */
export function wantsInstall(ros: RosConfig, distribution: KubernetesDistribution, installed: InstalledDistribution | undefined): boolean {
  const wanted = ros.kubernetes;
  if (!wanted?.version && !wanted?.image) return false;
  if (!installed || installed.distribution !== distribution) return true;
  if (wanted.version && wanted.version !== installed.version) return true;
  return Boolean(wanted.image && !installed.image.startsWith(`${wanted.image}@`) && installed.image !== wanted.image);
}

/**
 * Pull, check and install the configured version; throws with the image and
 * the reason, the installed version (if any) left as it was and running.
 */
export async function installDistribution(system: NodeSystem, ros: RosConfig, distribution: KubernetesDistribution, role: KubernetesRole): Promise<{ installed: InstalledDistribution; line: string }> {
  const layout = INSTALLERS[distribution];
  const wanted = ros.kubernetes ?? {};
  const version = wanted.version;
  if (!version) throw new Error(`ros.kubernetes.image ${wanted.image} needs ros.kubernetes.version too: it names the install's directory and what ros status reports`);
  if (!/^v?[0-9A-Za-z.+_-]+$/.test(version)) throw new Error(`ros.kubernetes.version "${version}" is not a version (letters, digits, . + _ -)`);
  const image = wanted.image ?? layout.defaultImage(version);
  const previous = await readInstalled(system.root);
  const keeps = previous ? `${previous.distribution} ${previous.version} keeps running` : 'nothing was installed';
  const refuse = (reason: string) => new Error(`the ${distribution} installer image ${image} was refused: ${reason}; ${keeps}`);
  const started = Date.now();

  // The registry client and the verifier live in ros-upgrade.cjs, loaded only when an image is to be pulled.
  const { resolveImage, unpackImage } = await import('../upgrade/index.js');
  const resolved = await resolveImage(system, { image, key: wanted.verify_key, allowHttp: wanted.allow_http ?? false }).catch((error: Error) => {
    throw refuse(error.message);
  });
  const state = join(system.root, KUBERNETES_STATE_DIR, distribution);
  const artifactDir = join(state, '.installer');
  const prefix = join(state, version);
  await unpackImage(system, resolved.client, resolved.layers, artifactDir, system.log);
  await checkArtifact(artifactDir, layout).catch((error: Error) => {
    throw refuse(error.message);
  });

  // A half-finished earlier try of this version goes first: the installer extracts over what is there.
  await rm(prefix, { recursive: true, force: true });
  await mkdir(prefix, { recursive: true, mode: 0o755 });
  const absolutePrefix = join('/', KUBERNETES_STATE_DIR, distribution, version);
  await layout.place?.(artifactDir, prefix);
  const ran = await system.run('sh', [join(artifactDir, layout.script)], { env: { ...process.env, ...layout.env(artifactDir, absolutePrefix, role) } });
  if (ran.code !== 0) throw refuse(`its ${layout.script} failed (exit ${ran.code}): ${lastOutput(ran.output)}`);
  await keepUnits(system.root, distribution, prefix);
  await syncPath(prefix);

  const installed: InstalledDistribution = { distribution, version, image: `${resolved.check.reference}@${resolved.check.digest}`, prefix: absolutePrefix };
  const recordPath = join(system.root, KUBERNETES_STATE_DIR, RECORD);
  await writeFileAtomic(recordPath, `${JSON.stringify(installed, null, 2)}\n`, 0o644);
  await syncPath(recordPath);
  await rm(artifactDir, { recursive: true, force: true });
  if (previous && previous.prefix !== absolutePrefix) await rm(join(system.root, previous.prefix), { recursive: true, force: true });
  const verified = resolved.check.verifiedWith ? `signature verified with ${resolved.check.verifiedWith}` : 'signature NOT checked (no ros.kubernetes.verify_key)';
  const read = resolved.check.bundle ? `read from the bundle in ${resolved.check.bundle}` : 'pulled';
  const line = `kubernetes: installed ${distribution} ${version} from ${installed.image} (${verified}; ${formatBytes(resolved.check.compressedBytes)} ${read}) in ${((Date.now() - started) / 1000).toFixed(0)} s`;
  return { installed, line };
}

/**
 * Put the installed distribution's units back (/etc is new at every boot),
 * stop the other role's, and start this role's without waiting for it (the
 * vendor's units wait for the network themselves). `restart` after an install.
 */
export async function startDistribution(system: NodeSystem, distribution: KubernetesDistribution, role: KubernetesRole, restart: boolean): Promise<string> {
  const installed = await readInstalled(system.root);
  if (installed?.distribution === distribution) await restoreUnits(system.root, installed);
  const unit = serviceUnit(distribution, role);
  await mustRun(system, 'systemctl', ['daemon-reload']);
  if (!installed && (await system.run('systemctl', ['cat', unit])).code !== 0) {
    return `kubernetes: no ${distribution} to start: set ros.kubernetes.version to install one, or bake it into the image`;
  }
  const other = serviceUnit(distribution, role === 'server' ? 'agent' : 'server');
  if (other !== unit) await system.run('systemctl', ['stop', '--no-block', other]);
  const placed = await placeBundledImages(system.root, distribution);
  await mustRun(system, 'systemctl', [restart ? 'restart' : 'start', '--no-block', unit]);
  const from = installed?.distribution === distribution ? `${distribution} ${installed.version}` : `${distribution} from the image`;
  const images = placed.length > 0 ? `; ${placed.join(', ')} from the bundle placed in /${agentImagesDir(distribution)}` : '';
  return `kubernetes: ${restart ? 'restarting' : 'starting'} ${unit} (${from}${images})`;
}

/** Where a distribution's agent imports image tarballs from at its start (its air-gap contract). */
function agentImagesDir(distribution: KubernetesDistribution): string {
  return `var/lib/rancher/${distribution}/agent/images`;
}

/**
 * The image tarballs a bundle carries for the cluster (ros-build --bundle-images), copied where the agent imports
 * them, before it starts; a copy already there with the same size stays. Returns the names copied.
 */
async function placeBundledImages(root: string, distribution: KubernetesDistribution): Promise<string[]> {
  const placed: string[] = [];
  for (const bundle of BUNDLE_DIRS) {
    const source = join(root, bundle, BUNDLE_IMAGES_DIR);
    const names = await readdir(source).catch(() => [] as string[]);
    if (names.length === 0) continue;
    const target = join(root, agentImagesDir(distribution));
    await mkdir(target, { recursive: true });
    for (const name of names) {
      const [from, to] = [await stat(join(source, name)), await stat(join(target, name)).catch(() => undefined)];
      if (!from.isFile() || to?.size === from.size) continue;
      await copyFile(join(source, name), `${join(target, name)}.partial`);
      await rename(`${join(target, name)}.partial`, join(target, name));
      placed.push(name);
    }
  }
  return placed;
}

/** The tarball must match its line in the checksum file the image carries (the vendor's installer checks it too, less clearly). */
async function checkArtifact(dir: string, layout: InstallerLayout): Promise<void> {
  const present = await readdir(dir);
  for (const name of [layout.script, layout.artifact, layout.checksums]) {
    if (!present.includes(name)) throw new Error(`it has no ${name} (an installer image holds ${layout.script}, ${layout.artifact} and ${layout.checksums})`);
  }
  const sums = await readFile(join(dir, layout.checksums), 'utf8');
  const expected = sums.split('\n').map((line) => line.trim().split(/\s+/)).find((fields) => fields[1]?.replace(/^\*/, '') === layout.artifact)?.[0];
  if (!expected) throw new Error(`${layout.checksums} has no line for ${layout.artifact}`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(join(dir, layout.artifact))) hash.update(chunk as Buffer);
  const actual = hash.digest('hex');
  if (actual !== expected.toLowerCase()) throw new Error(`${layout.artifact} does not match its checksum in ${layout.checksums} (sha256 ${actual}, expected ${expected})`);
}

/** The units (and their .env files) the vendor's installer moved to /etc/systemd/system, kept beside the prefix. */
async function keepUnits(root: string, distribution: KubernetesDistribution, prefix: string): Promise<void> {
  const etc = join(root, 'etc/systemd/system');
  const kept = join(prefix, 'ros-units');
  await mkdir(kept, { recursive: true });
  const names = (await readdir(etc).catch(() => [] as string[])).filter((name) => name.startsWith(`${distribution}`) && /\.(service|env)$/.test(name));
  if (!names.some((name) => name.endsWith('.service'))) throw new Error(`its installer wrote no ${distribution} unit to /etc/systemd/system`);
  for (const name of names) await copyFile(join(etc, name), join(kept, name));
}

async function restoreUnits(root: string, installed: InstalledDistribution): Promise<void> {
  const kept = join(root, installed.prefix, 'ros-units');
  const etc = join(root, 'etc/systemd/system');
  await mkdir(etc, { recursive: true });
  for (const name of await readdir(kept).catch(() => [] as string[])) await copyFile(join(kept, name), join(etc, name));
}

/** The installer's last lines, on one line of the error. */
function lastOutput(output: string): string {
  return lastLines(output, 3).replaceAll('\n', ' | ') || 'no output';
}
