import { gatherConfig } from '../config-sources.js';
import type { NodeSystem } from '../system.js';
import { planDistributionConfig, wantsKubernetes, type KubernetesRole } from './config.js';
import { readInstalled, serviceUnit, wantsInstall } from './install.js';

/** `ros status`'s Kubernetes line: what is installed, its service's state, and a configured version not installed yet; undefined when the node runs none. */
export async function describeKubernetes(system: NodeSystem): Promise<string | undefined> {
  const { merged } = await gatherConfig(system.root);
  const installed = await readInstalled(system.root);
  if (!wantsKubernetes(merged.ros) && !installed) return undefined;
  const ros = merged.ros ?? {};
  let distribution = installed?.distribution ?? 'rke2';
  let role: KubernetesRole = 'server';
  try {
    ({ distribution, role } = planDistributionConfig(ros));
  } catch {
    // The phases report a bad argument; the status still says what runs.
  }
  const unit = serviceUnit(distribution, role);
  const state = (await system.run('systemctl', ['is-active', unit])).output.trim() || 'unknown';
  const what = installed?.distribution === distribution ? `${distribution} ${installed.version} (${role}), from ${installed.image}` : `${distribution} (${role}), ${installed ? `${installed.distribution} ${installed.version} installed` : 'none installed'}`;
  const pending = wantsInstall(ros, distribution, installed) ? `; ros.kubernetes.version ${ros.kubernetes?.version ?? ros.kubernetes?.image} NOT installed yet (the ros-config-runtime journal says why)` : '';
  return `kubernetes: ${what}; ${unit} ${state}${pending}`;
}
