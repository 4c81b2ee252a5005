/**
 * Booting a netboot directory in qemu: the guest's iPXE fetches the script
 * from the URL the directory was built for. When that URL names the host as
 * the user network shows it (10.0.2.2), the directory is served here, on the
 * host's loopback at the same port (slirp turns the guest's connections to
 * the gateway into connections to 127.0.0.1); any other URL must be served by
 * the user, as on a real network.
 */
import type { Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NETBOOT_FILES } from '../artifacts/netboot-files.js';
import { UserError } from '../errors.js';
import { createStaticServer, type RequestLog } from '../serve/static-server.js';

export interface NetbootServing {
  /** DHCP's boot file for the guest: the script's URL. */
  bootfile: string;
  /** Whether this process serves the directory (else the URL's server must). */
  served: boolean;
  close(): Promise<void>;
}

/** The base URL a netboot directory's script fetches from (the `kernel` line, as renderIpxeScript writes it). */
export async function readNetbootBaseUrl(dir: string): Promise<string> {
  const script = await readFile(join(dir, NETBOOT_FILES.script.name), 'utf8');
  const match = new RegExp(`^kernel (\\S+)/${NETBOOT_FILES.kernel.name}\\s`, 'm').exec(script);
  if (!match) throw new UserError(`${join(dir, NETBOOT_FILES.script.name)} has no kernel line from ros-build netboot`, 'build the directory again with ros-build netboot');
  return match[1]!;
}

export async function serveNetbootDir(dir: string, gateway: string, onRequest?: (entry: RequestLog) => void): Promise<NetbootServing> {
  const base = new URL(await readNetbootBaseUrl(dir));
  const bootfile = `${base.href.replace(/\/+$/, '')}/${NETBOOT_FILES.script.name}`;
  if (base.hostname !== gateway || base.protocol !== 'http:') return { bootfile, served: false, close: async () => {} };
  const port = Number(base.port || 80);
  // The directory is served at the root: a base URL with a path would not find its files.
  if (base.pathname !== '/') throw new UserError(`${bootfile} has a path (${base.pathname}); booting serves the directory at the root`, `build it with --url http://${gateway}:${port}`);
  const server: Server = await createStaticServer(dir, (entry) => onRequest?.(entry));
  await new Promise<void>((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'EADDRINUSE' ? new UserError(`port ${port} on 127.0.0.1 is in use, and ${bootfile} needs it`, 'stop what listens there, or build the directory with another --url port') : error),
    );
    server.listen(port, '127.0.0.1', done);
  });
  return {
    bootfile,
    served: true,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
