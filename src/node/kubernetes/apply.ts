/**
 * The `ros.kubernetes` step of the boot and runtime phases: the
 * distribution's config.yaml from the keys (both phases: a cloud's user data
 * may bring the token), the configured version installed when it is not the
 * one installed (runtime: the network is up), and the service started, or
 * restarted when its version or its config.yaml changed.
 */
import type { Phase, RosConfig } from '../../config/types.js';
import type { NodeSystem } from '../system.js';
import { planDistributionConfig, writeDistributionConfig } from './config.js';
import { installDistribution, readInstalled, startDistribution, wantsInstall } from './install.js';

/** Returns the errors met (a refused installer image is one); never throws. */
export async function applyKubernetes(system: NodeSystem, ros: RosConfig, phase: Phase): Promise<string[]> {
  const errors: string[] = [];
  try {
    const written = await writeDistributionConfig(system.root, ros);
    system.log(`ros: ${written.line}`);
    const { distribution, role } = planDistributionConfig(ros);
    let installed = false;
    const previous = await readInstalled(system.root);
    if (wantsInstall(ros, distribution, previous)) {
      if (phase !== 'runtime') {
        system.log(`ros: kubernetes: ${distribution} ${ros.kubernetes?.version ?? ros.kubernetes?.image} is installed by the runtime phase, once the network is up`);
        // Until then the installed version (if any) runs.
        if (!previous) return errors;
      } else {
        try {
          system.log(`ros: ${(await installDistribution(system, ros, distribution, role)).line}`);
          installed = true;
        } catch (error) {
          errors.push(`kubernetes: ${(error as Error).message}`);
        }
      }
    }
    // A new version, or new settings for the running one: the service restarts to take them.
    system.log(`ros: ${await startDistribution(system, distribution, role, installed || written.changed)}`);
  } catch (error) {
    errors.push(`kubernetes: ${(error as Error).message}`);
  }
  return errors;
}
