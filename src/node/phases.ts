import { NOT_APPLIED_KEYS, formatProblem, nodeConfigSchema } from '../config/load.js';
import type { NodeConfig, Phase } from '../config/types.js';
import { runCommands } from './apply/commands.js';
import { commandEnvironment, setEnvironment } from './apply/environment.js';
import { writeFiles } from './apply/files.js';
import { fetchGithubKeys } from './apply/github-keys.js';
import { setHostname } from './apply/hostname.js';
import { loadModules, setSysctls } from './apply/kernel.js';
import { setFallbackNameservers, setFallbackNtpServers } from './apply/network.js';
import { hashClearPasswords } from './apply/secure-sources.js';
import type { StoredUserData } from './apply/user-data.js';
import { authorizeKeys, setPassword } from './apply/users.js';
import { gatherConfig, SOURCE_PATHS, type GatheredConfig } from './config-sources.js';
import { applyKubernetes } from './kubernetes/apply.js';
import { wantsKubernetes } from './kubernetes/config.js';
import type { NodeSystem } from './system.js';

export const PHASES: readonly Phase[] = ['init', 'boot', 'runtime'];

interface PhaseContext {
  system: NodeSystem;
  phase: Phase;
  config: NodeConfig;
  userData?: StoredUserData;
}

/** One key's work: returns the errors it met (an exception is one error); never stops the phase. */
interface Step {
  key: string;
  phases: readonly Phase[];
  wanted: (config: NodeConfig) => boolean;
  apply: (context: PhaseContext) => Promise<string[] | void>;
}

// In this order within a phase: the environment first so commands see it, files before commands (docs/configuration.md).
const STEPS: readonly Step[] = [
  { key: 'ros.environment', phases: ['init', 'boot'], wanted: (c) => Boolean(c.ros?.environment), apply: ({ system, config }) => setEnvironment(system, config.ros!.environment!) },
  { key: 'write_files', phases: ['init', 'boot', 'runtime'], wanted: (c) => Boolean(c.write_files?.length), apply: ({ system, config }) => writeFiles(system.root, config.write_files!) },
  { key: 'hostname', phases: ['init', 'boot', 'runtime'], wanted: (c) => Boolean(c.hostname), apply: ({ system, config }) => setHostname(system, config.hostname!) },
  { key: 'ros.modules', phases: ['init', 'boot'], wanted: (c) => Boolean(c.ros?.modules?.length), apply: ({ system, config }) => loadModules(system, config.ros!.modules!) },
  { key: 'ros.sysctl', phases: ['init', 'boot'], wanted: (c) => Boolean(c.ros?.sysctl), apply: ({ system, config }) => setSysctls(system, config.ros!.sysctl!) },
  // Runtime too: a password in a cloud's user data arrives only then.
  { key: 'ros.password', phases: ['init', 'boot', 'runtime'], wanted: (c) => Boolean(c.ros?.password), apply: ({ system, config }) => setPassword(system, config.ros!.password!) },
  { key: 'ssh_authorized_keys', phases: ['boot', 'runtime'], wanted: (c) => Boolean(c.ssh_authorized_keys?.length), apply: applyKeys },
  // Init too: timesyncd starts before the boot phase can run (sysinit.target), and DNS costs nothing to set early.
  { key: 'ros.dns_nameservers', phases: ['init', 'boot'], wanted: (c) => Boolean(c.ros?.dns_nameservers?.length), apply: ({ system, config }) => setFallbackNameservers(system.root, config.ros!.dns_nameservers!) },
  { key: 'ros.ntp_servers', phases: ['init', 'boot'], wanted: (c) => Boolean(c.ros?.ntp_servers?.length), apply: ({ system, config }) => setFallbackNtpServers(system.root, config.ros!.ntp_servers!) },
  // Runtime too: a cloud's user data may carry the token.
  { key: 'ros.kubernetes', phases: ['boot', 'runtime'], wanted: (c) => wantsKubernetes(c.ros), apply: ({ system, config, phase }) => applyKubernetes(system, config.ros!, phase) },
  { key: 'init_cmd', phases: ['init'], wanted: (c) => Boolean(c.init_cmd?.length), apply: ({ system, config }) => runCommands(system, 'init_cmd', config.init_cmd!, commandEnvironment(config.ros?.environment)) },
  { key: 'boot_cmd', phases: ['boot'], wanted: (c) => Boolean(c.boot_cmd?.length), apply: ({ system, config }) => runCommands(system, 'boot_cmd', config.boot_cmd!, commandEnvironment(config.ros?.environment)) },
  { key: 'run_cmd', phases: ['runtime'], wanted: (c) => Boolean(c.run_cmd?.length), apply: ({ system, config }) => runCommands(system, 'run_cmd', config.run_cmd!, commandEnvironment(config.ros?.environment)) },
];

/**
 * Apply one phase: gather and merge every source, report their problems, run
 * each step of the phase. Everything that can apply does; the result says
 * whether anything failed (the unit then shows failed, the boot goes on).
 */
export async function applyPhase(system: NodeSystem, phase: Phase): Promise<{ ok: boolean }> {
  const failures: string[] = [];
  const fail = (message: string) => {
    failures.push(message);
    system.log(`ros: error: ${phase}: ${message}`);
  };
  // Before anything reads them: a clear-text password in a file ros can write becomes its hash.
  if (phase === 'init') for (const message of await hashClearPasswords(system.root)) system.log(`ros: ${message}`);
  let gathered = await gatherConfig(system.root);
  let userData: StoredUserData | undefined;
  if (phase === 'runtime') {
    // Loaded only here: the data sources are most of the code, and init and boot never use them.
    const { fetchAndStoreUserData } = await import('./apply/user-data.js');
    userData = await fetchAndStoreUserData(system, gathered.merged.ros?.data_sources);
    if (userData) gathered = await gatherConfig(system.root);
  }
  reportProblems(system, phase, gathered, fail);
  const config = withMetadata(gathered.merged, userData);
  if (phase === 'init') {
    for (const key of NOT_APPLIED_KEYS.filter((k) => config[k] !== undefined)) {
      system.log(`ros: warning: ${key}: accepted, not applied by this OS${key in (nodeConfigSchema.properties.ros.properties as object) ? ` at the top level: use ros.${key}` : ''}`);
    }
  }
  for (const step of STEPS) {
    if (!step.phases.includes(phase) || !step.wanted(config)) continue;
    try {
      for (const message of (await step.apply({ system, phase, config, userData })) ?? []) fail(message);
    } catch (error) {
      fail(`${step.key}: ${(error as Error).message}`);
    }
  }
  if (userData?.script) {
    const { runUserDataScript } = await import('./apply/user-data.js');
    for (const message of await runUserDataScript(system, userData, commandEnvironment(config.ros?.environment))) fail(message);
  }
  if (phase === 'runtime') {
    // Azure fails a deployment that never hears Ready: said once the configuration is applied, or failed.
    const { reportIfOnAzure } = await import('./apply/azure-ready.js');
    await reportIfOnAzure(system, userData?.source, failures.length === 0 ? undefined : failures.join('; '));
  }
  system.log(`ros: ${phase} phase ${failures.length > 0 ? 'finished with errors (see above); the rest was applied' : 'applied'}`);
  return { ok: failures.length === 0 };
}

/** Errors in every phase (each unit that skipped a key ends failed); warnings once, when the source is first read. */
function reportProblems(system: NodeSystem, phase: Phase, gathered: GatheredConfig, fail: (message: string) => void): void {
  for (const problem of gathered.sources.flatMap((s) => s.problems)) {
    if (problem.severity === 'error') fail(formatProblem(problem).replace(/^error: /, ''));
    else if (phase === 'init' || (phase === 'runtime' && problem.source.endsWith(SOURCE_PATHS.userData))) system.log(`ros: ${formatProblem(problem)}`);
  }
}

/** Keys and a hostname the metadata offers count as if the user data had them, below the user's own hostname. */
function withMetadata(config: NodeConfig, userData: StoredUserData | undefined): NodeConfig {
  if (!userData) return config;
  return {
    ...config,
    hostname: config.hostname ?? userData.hostname,
    ssh_authorized_keys: [...(config.ssh_authorized_keys ?? []), ...userData.sshKeys],
  };
}

/** Literal keys at boot; `github:` ones once the network is up, a warning when they cannot be fetched. */
async function applyKeys({ system, phase, config }: PhaseContext): Promise<string[]> {
  const keys = config.ssh_authorized_keys ?? [];
  const literal = keys.filter((k) => !k.startsWith('github:'));
  const fetched = phase === 'runtime' ? await fetchGithubKeys(keys.filter((k) => k.startsWith('github:')).map((k) => k.slice('github:'.length)), system.log) : [];
  await authorizeKeys(system.root, [...literal, ...fetched]);
  return [];
}
