/**
 * A caching HTTP proxy for package downloads. Layer builds reach the
 * distribution's mirror through it (apt and zypper honour http_proxy, which
 * Docker passes to RUN without storing it in the image or its history), and
 * the bootstrap's mmdebstrap does too. Package files have versioned, never
 * reused names, so they are kept under the cache directory and served from it
 * when a layer is rebuilt after a change to its package list; indexes
 * (Release, Packages) always come from the mirror. Nothing of the cache ever
 * enters an image.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';

export interface PackageProxy {
  /** http://address:port, for http_proxy. */
  url: string;
  hits: number;
  misses: number;
  close(): Promise<void>;
}

/** Immutable package files, by their versioned names. */
const CACHEABLE = /\.(deb|udeb|rpm|drpm)$/;

/** Where a package URL is kept: <cacheDir>/<host>/<path>; undefined for anything that must not be cached. */
export function cachePathFor(cacheDir: string, url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' || parsed.search || !CACHEABLE.test(parsed.pathname)) return undefined;
  const path = normalize(decodeURIComponent(parsed.pathname));
  if (path.split('/').includes('..')) return undefined;
  return join(cacheDir, parsed.host.replace(/[^A-Za-z0-9.:-]/g, '_'), path);
}

export async function startPackageProxy(options: { host: string; cacheDir: string }): Promise<PackageProxy> {
  const proxy = { hits: 0, misses: 0 };
  const server = createServer((request, response) => {
    serve(request, response, options.cacheDir, proxy).catch(() => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host, () => resolve());
  });
  // Never keep a build process alive for the proxy's sake.
  server.unref();
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    get hits() {
      return proxy.hits;
    },
    get misses() {
      return proxy.misses;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function serve(request: IncomingMessage, response: ServerResponse, cacheDir: string, counts: { hits: number; misses: number }): Promise<void> {
  const url = request.url ?? '';
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405).end();
    return;
  }
  const cached = cachePathFor(cacheDir, url);
  if (cached && request.method === 'GET') {
    const size = await stat(cached).then((s) => s.size, () => undefined);
    if (size !== undefined) {
      counts.hits++;
      response.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      await pipeline(createReadStream(cached), response);
      return;
    }
    counts.misses++;
  }
  const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
    const forwarded = httpRequest(url, { method: request.method, headers: { ...request.headers, host: new URL(url).host } }, resolve);
    forwarded.once('error', reject);
    forwarded.end();
  });
  response.writeHead(upstream.statusCode ?? 502, upstream.headers);
  if (!cached || upstream.statusCode !== 200 || request.method !== 'GET') {
    await pipeline(upstream, response);
    return;
  }
  // Tee into the cache under a private name, renamed when the whole file arrived.
  // The last chunk is held back until then: a client that knows the length is done
  // when its last byte arrives, and its next request for the file must be a hit.
  await mkdir(dirname(cached), { recursive: true });
  const partial = `${cached}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const file = createWriteStream(partial);
  let received = 0;
  let held: Buffer | undefined;
  upstream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    file.write(chunk);
    if (held) response.write(held);
    held = chunk;
  });
  try {
    await finished(upstream);
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const expected = Number(upstream.headers['content-length'] ?? received);
    if (received !== expected) throw new Error(`${url}: ${received} of ${expected} bytes`);
    await rename(partial, cached);
    response.end(held);
  } catch (error) {
    file.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}
