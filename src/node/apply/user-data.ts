import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SOURCE_PATHS } from '../config-sources.js';
import { findBootArgument } from '../../config/cmdline.js';
import { fetchUserData } from '../datasources/index.js';
import { platformDataSources } from '../datasources/platforms.js';
import type { NodeSystem } from '../system.js';
import { writeFileAtomic } from '../write-atomic.js';
import { hashPasswordInText } from './secure-sources.js';

/** Long enough for a metadata service under emulation, short enough that a machine without a cloud barely waits. */
const PROBE_TIMEOUT_MS = 5_000;
const SCRIPT_PATH = '/run/ros/user-data.script';

export interface StoredUserData {
  source: string;
  sshKeys: string[];
  hostname?: string;
  /** A `#!` user data, saved to run at the end of the runtime phase. */
  script?: string;
}

/**
 * Fetch user data from the configured sources. A `#cloud-config` document is
 * stored (tmpfs, 0600, any clear-text password already hashed) where
 * gatherConfig reads it at its precedence; a script is stored to run later.
 */
export async function fetchAndStoreUserData(system: NodeSystem, configured: readonly string[] | undefined): Promise<StoredUserData | undefined> {
  const configPath = join(system.root, SOURCE_PATHS.userData);
  const scriptPath = join(system.root, SCRIPT_PATH);
  await Promise.all([rm(configPath, { force: true }), rm(scriptPath, { force: true })]);
  const sources = configured ?? (await readPlatformSources(system));
  if (sources.length === 0) return undefined;
  const found = await fetchUserData(sources, { timeoutMs: PROBE_TIMEOUT_MS, log: (line) => system.log(`ros: ${line}`) });
  if (!found) {
    system.log(`ros: no data source answered (${sources.join(', ')}); going on without user data`);
    return undefined;
  }
  const stored: StoredUserData = { source: found.source, sshKeys: found.sshKeys, hostname: found.hostname };
  const text = found.userData?.replace(/^\uFEFF/, '') ?? '';
  if (/^#cloud-config\s/.test(text)) {
    await writeFileAtomic(configPath, hashPasswordInText(text) ?? text, 0o600);
  } else if (text.startsWith('#!')) {
    await writeFileAtomic(scriptPath, text, 0o700);
    stored.script = scriptPath;
  } else if (text.trim() !== '') {
    system.log(`ros: warning: user data from ${found.source} is neither "#cloud-config" nor a script ("#!"): ignored`);
  }
  return stored;
}

/** Without `ros.data_sources`, the sources of the platform the disk was made for (`ros.platform=` on the kernel command line). */
async function readPlatformSources(system: NodeSystem): Promise<readonly string[]> {
  const cmdline = await readFile(join(system.root, SOURCE_PATHS.cmdline), 'utf8').catch(() => '');
  const platform = findBootArgument(cmdline, 'ros.platform');
  const sources = platformDataSources(platform);
  if (sources.length > 0) system.log(`ros: data sources of the ${platform} platform: ${sources.join(', ')} (ros.data_sources is not set)`);
  return sources;
}

export async function runUserDataScript(system: NodeSystem, userData: StoredUserData, env: NodeJS.ProcessEnv): Promise<string[]> {
  system.log(`ros: running the user data script from ${userData.source}`);
  const result = await system.run(userData.script!, [], { env, passOutput: true });
  return result.code === 0 ? [] : [`user data script from ${userData.source}: exited with ${result.code}`];
}
