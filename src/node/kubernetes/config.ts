/**
 * The Kubernetes distribution's own configuration, from the node's keys: the
 * RancherOS family's `server_url`, `token`, `labels`, `taints` and
 * `rke2_args`/`k3s_args` become RKE2's or k3s's config.yaml, whose keys are
 * their command-line flags. Written on every boot (and again with the
 * runtime phase's user data), so the file always says what the configuration
 * says; the token makes it readable by root only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubernetesDistribution, RosConfig } from '../../config/types.js';
import { writeFileAtomic } from '../write-atomic.js';

export type KubernetesRole = 'server' | 'agent';

export interface DistributionConfig {
  distribution: KubernetesDistribution;
  role: KubernetesRole;
  /** Under the system root, no leading slash. */
  path: string;
  values: Record<string, string | boolean | string[]>;
}

export const DISTRIBUTION_CONFIG_PATHS: Readonly<Record<KubernetesDistribution, string>> = {
  rke2: 'etc/rancher/rke2/config.yaml',
  k3s: 'etc/rancher/k3s/config.yaml',
};

/** Flags that take a list: given more than once, or beside labels and taints, their values add up. */
const LIST_FLAGS = new Set(['node-label', 'node-taint', 'tls-san', 'disable', 'kube-apiserver-arg', 'kubelet-arg', 'kube-controller-manager-arg', 'kube-scheduler-arg', 'kube-proxy-arg', 'etcd-arg']);

/** Whether the configuration asks for Kubernetes at all. */
export function wantsKubernetes(ros: RosConfig | undefined): boolean {
  return Boolean(ros && (ros.kubernetes || ros.server_url || ros.token || ros.labels || ros.taints || ros.rke2_args || ros.k3s_args));
}

/**
 * The distribution (rke2 unless ros.kubernetes says k3s, or only k3s_args
 * are given), the role (a first argument `server` or `agent`; otherwise agent
 * when server_url is set, server when not) and the config.yaml values.
 * Throws on arguments that are not flags, naming their place, never their
 * value (it may be a secret).
 */
export function planDistributionConfig(ros: RosConfig): DistributionConfig {
  const distribution = ros.kubernetes?.distribution ?? (ros.k3s_args && !ros.rke2_args ? 'k3s' : 'rke2');
  const argsKey = distribution === 'rke2' ? 'rke2_args' : 'k3s_args';
  const args = [...(ros[argsKey] ?? [])];
  let role: KubernetesRole = ros.server_url ? 'agent' : 'server';
  let first = 0;
  if (args[0] === 'server' || args[0] === 'agent') {
    role = args[0];
    first = 1;
  }
  const values: DistributionConfig['values'] = {};
  const add = (name: string, value: string | boolean) => {
    const existing = values[name];
    if (LIST_FLAGS.has(name)) values[name] = [...((existing as string[] | undefined) ?? []), String(value)];
    else if (existing === undefined) values[name] = value;
    else values[name] = [...(Array.isArray(existing) ? existing : [String(existing)]), String(value)];
  };
  if (ros.server_url) add('server', ros.server_url);
  if (ros.token) add('token', ros.token);
  for (const [name, value] of Object.entries(ros.labels ?? {})) add('node-label', `${name}=${value}`);
  for (const taint of ros.taints ?? []) add('node-taint', taint);
  for (let i = first; i < args.length; i++) {
    const arg = args[i]!;
    const flag = /^--?([A-Za-z0-9][A-Za-z0-9-]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!flag) throw new Error(`ros.${argsKey}[${i}] is not a flag (--name or --name=value); only the first argument may be server or agent`);
    const [, name, inline] = flag;
    if (inline !== undefined) add(name!, inline);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('-')) add(name!, args[++i]!);
    else add(name!, true);
  }
  return { distribution, role, path: DISTRIBUTION_CONFIG_PATHS[distribution], values };
}

/**
 * Write the distribution's config.yaml (0600) and say what was written, without a value of it. `changed`: it held
 * other settings before (this boot's earlier phase, or before `ros config apply`), so a running service must restart
 * to take them; at boot /etc is new and nothing was there.
 */
export async function writeDistributionConfig(root: string, ros: RosConfig): Promise<{ line: string; changed: boolean }> {
  const plan = planDistributionConfig(ros);
  const path = join(root, plan.path);
  const header = `# Written by ros on every boot from the node's configuration (ros.server_url, ros.token, ros.labels, ros.taints, ros.${plan.distribution}_args): change that, not this file.\n`;
  const text = `${header}${stringify(plan.values)}`;
  const before = await readFile(path, 'utf8').catch(() => undefined);
  await writeFileAtomic(path, text, 0o600);
  const keys = Object.keys(plan.values).join(', ') || 'no keys';
  const changed = before !== undefined && before !== text;
  return { line: `kubernetes: wrote /${plan.path} for ${plan.distribution} as ${plan.role === 'server' ? 'a server' : 'an agent'} (${keys})${changed ? ', changed' : ''}`, changed };
}
