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
      const gateway = (bridge.IPAM?.Config ?? []).map(bridgeGateway).find(Boolean);
      if (!gateway) return undefined;
      return await startPackageProxy({ host: gateway, cacheDir: join(env.cacheDir, 'packages') });
    } catch {
      return undefined;
    }
  })();
  return started;
}

/** The bridge's gateway: as the engine reports it, else (Docker 20.10 leaves it out for the default bridge) the subnet's first address. */
export function bridgeGateway(config: { Gateway?: string; Subnet?: string }): string | undefined {
  if (config.Gateway) return config.Gateway;
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(config.Subnet ?? '');
  if (!match) return undefined;
  const address = match.slice(1, 5).reduce((value, octet) => value * 256 + Number(octet), 0);
  const prefix = Number(match[5]);
  const network = prefix === 0 ? 0 : address - (address % 2 ** (32 - prefix));
  const first = network + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.');
}
