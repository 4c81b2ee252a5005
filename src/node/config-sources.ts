import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseKernelCmdline } from '../config/cmdline.js';
import { checkConfig, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { mergeConfigs } from '../config/merge.js';
import type { NodeConfig } from '../config/types.js';

/** Where each source lives on a node (docs/configuration.md), relative to the root `ros` works on. */
export const SOURCE_PATHS = {
  imageDefaults: '/system/oem',
  oem: '/oem',
  medium: '/run/initramfs/live/ros/cloud-config.yaml',
  /** What the runtime phase fetched from a data source this boot (tmpfs: never on disk). */
  userData: '/run/ros/user-data.yaml',
  local: '/var/lib/rancher/ros/config.yaml',
  localDir: '/var/lib/rancher/ros/config.d',
  cmdline: '/proc/cmdline',
} as const;

export interface GatheredConfig {
  /** Every source that exists, lowest precedence first, each already checked. */
  sources: LoadedConfig[];
  merged: NodeConfig;
}

/** Read every configuration source in docs/configuration.md's order and merge them. A broken source never stops the others. */
export async function gatherConfig(root: string): Promise<GatheredConfig> {
  const at = (path: string) => join(root, path);
  const files = [
    ...(await listYaml(at(SOURCE_PATHS.imageDefaults))),
    ...(await listYaml(at(SOURCE_PATHS.oem))),
    at(SOURCE_PATHS.medium),
    at(SOURCE_PATHS.userData),
    at(SOURCE_PATHS.local),
    ...(await listYaml(at(SOURCE_PATHS.localDir))),
  ];
  const sources: LoadedConfig[] = [];
  for (const file of files) {
    const loaded = await loadConfigFile(file);
    if (loaded) sources.push(await flagExposedSecret(loaded, file));
  }
  sources.push(await loadCmdline(at(SOURCE_PATHS.cmdline)));
  return { sources, merged: mergeConfigs(sources.map((s) => s.config)) };
}

/** A join token in a file other users can read (COS_OEM is ext4: modes hold) is named, with the fix; it is still used. */
async function flagExposedSecret(loaded: LoadedConfig, file: string): Promise<LoadedConfig> {
  if (!loaded.config.ros?.token) return loaded;
  const mode = (await stat(file).catch(() => undefined))?.mode ?? 0;
  if (!(mode & 0o004)) return loaded;
  const message = `holds the cluster's join token, and every user of this node can read the file: chmod 600 ${file}`;
  return { ...loaded, problems: [...loaded.problems, { source: file, path: 'ros.token', severity: 'warning', message }] };
}

async function loadCmdline(path: string): Promise<LoadedConfig> {
  const source = 'kernel command line';
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    // No /proc (a test root, a container): no command line.
  }
  const parsed = parseKernelCmdline(text);
  const checked = checkConfig(parsed.config, source);
  const problems = parsed.problems.map((message) => ({ source, path: '', severity: 'error' as const, message }));
  return { ...checked, problems: [...problems, ...checked.problems] };
}

/** `*.yaml` and `*.yml` in a directory, sorted so `10-x.yaml` comes before `20-y.yaml`. */
export async function listYaml(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(dir, n));
}
