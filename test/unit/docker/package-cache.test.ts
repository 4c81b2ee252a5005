import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePathFor, startPackageProxy, type PackageProxy } from '../../../src/docker/package-cache.js';
import { scratchDirs } from '../../helpers/scratch.js';

const tempDir = scratchDirs();

/** A GET through the proxy, as apt sends it: the absolute URL on the request line. */
function getThrough(proxy: PackageProxy, url: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: url, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('package cache proxy', () => {
  const upstreamHits: string[] = [];
  const cacheDir = tempDir('ros-packages-');
  const upstream = createServer((req, res) => {
    upstreamHits.push(req.url ?? '');
    if (req.url === '/missing.deb') return void res.writeHead(404).end('no');
    res.end(`content of ${req.url}`);
  });
  let mirror = '';
  let proxy: PackageProxy;

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    mirror = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    proxy = await startPackageProxy({ host: '127.0.0.1', cacheDir });
  });
  afterAll(async () => {
    await proxy.close();
    upstream.close();
  });

  it('keeps package files and serves them again without the mirror', async () => {
    const url = `${mirror}/debian/pool/main/h/hello/hello_2.10-3_amd64.deb`;
    expect(await getThrough(proxy, url)).toEqual({ status: 200, body: 'content of /debian/pool/main/h/hello/hello_2.10-3_amd64.deb' });
    expect(await getThrough(proxy, url)).toEqual({ status: 200, body: 'content of /debian/pool/main/h/hello/hello_2.10-3_amd64.deb' });
    expect(upstreamHits.filter((u) => u.endsWith('hello_2.10-3_amd64.deb'))).toHaveLength(1);
    expect(readFileSync(cachePathFor(cacheDir, url)!, 'utf8')).toContain('hello_2.10-3');
    expect(proxy.hits).toBe(1);
  });

  it('always asks the mirror for indexes, and does not keep errors', async () => {
    await getThrough(proxy, `${mirror}/debian/dists/bookworm/InRelease`);
    await getThrough(proxy, `${mirror}/debian/dists/bookworm/InRelease`);
    expect(upstreamHits.filter((u) => u.endsWith('InRelease'))).toHaveLength(2);
    expect((await getThrough(proxy, `${mirror}/missing.deb`)).status).toBe(404);
    expect((await getThrough(proxy, `${mirror}/missing.deb`)).status).toBe(404);
    expect(upstreamHits.filter((u) => u === '/missing.deb')).toHaveLength(2);
  });

  it('caches only plain http package paths inside its directory', () => {
    expect(cachePathFor('/c', 'http://deb.debian.org/debian/pool/a_1_amd64.deb')).toBe('/c/deb.debian.org/debian/pool/a_1_amd64.deb');
    expect(cachePathFor('/c', 'http://deb.debian.org/debian/dists/bookworm/Release')).toBeUndefined();
    expect(cachePathFor('/c', 'https://deb.debian.org/a.deb')).toBeUndefined();
    expect(cachePathFor('/c', 'http://h/a.deb?x=1')).toBeUndefined();
    // URL parsing resolves dot segments first: a path can never leave the cache directory.
    expect(cachePathFor('/c', 'http://h/%2e%2e/%2e%2e/etc/x.deb')).toBe('/c/h/etc/x.deb');
  });
});

describe('the Docker bridge gateway', () => {
  it('is what the engine reports, else the first address of the bridge subnet', async () => {
    const { bridgeGateway } = await import('../../../src/plan/package-proxy.js');
    expect(bridgeGateway({ Gateway: '172.18.0.1', Subnet: '172.18.0.0/16' })).toBe('172.18.0.1');
    expect(bridgeGateway({ Subnet: '172.17.0.0/16' })).toBe('172.17.0.1');
    expect(bridgeGateway({ Subnet: '10.200.3.128/25' })).toBe('10.200.3.129');
    expect(bridgeGateway({ Subnet: 'fd00::/64' })).toBeUndefined();
  });
});
