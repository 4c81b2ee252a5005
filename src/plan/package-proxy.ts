import { join } from 'node:path';
import { startPackageProxy, type PackageProxy } from '../docker/package-cache.js';
import type { BuildEnv } from './env.js';

let started: Promise<PackageProxy | undefined> | undefined;

/**
 * The package cache proxy for this process's builds, started on first use on
 * the Docker bridge's gateway address (which build containers reach, and
 * nothing outside this machine). Undefined when the engine is remote, the
 * bridge has no local address, or the user routes through a proxy of their
 * own (http_proxy set): builds then download directly, as before.
 */
export function packageProxyFor(env: BuildEnv): Promise<PackageProxy | undefined> {
  started ??= (async () => {
    if (process.env.http_proxy || process.env.HTTP_PROXY) return undefined;
    try {
      const bridge = await env.docker.getNetwork('bridge').inspect();
      const gateway = (bridge.IPAM?.Config ?? []).map((c: { Gateway?: string }) => c.Gateway).find(Boolean);
      if (!gateway) return undefined;
      return await startPackageProxy({ host: gateway, cacheDir: join(env.cacheDir, 'packages') });
    } catch {
      return undefined;
    }
  })();
  return started;
}
