/**
 * ros.install.iso_url (k3OS's key): install from an ISO fetched over HTTP
 * rather than from the medium this system booted from: a machine booted from
 * a kernel and initramfs alone (PXE, a rescue system) installs the ISO's
 * system. The ISO is downloaded into RAM (/run), loop-mounted read-only, and
 * read like a booted ISO's medium; both go when the install ends.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../errors.js';
import { formatBytes } from '../../format-bytes.js';
import { mustRun } from '../slots/partitions.js';
import type { NodeSystem } from '../system.js';

/** Where the fetched ISO and its mount live (tmpfs: nothing of it stays). */
export const ISO_MEDIUM_DIR = '/run/ros/install-iso';

export interface FetchedMedium {
  /** The mounted ISO, relative to the system's root: what readMedium reads. */
  dir: string;
  release(): Promise<void>;
}

export async function fetchIsoMedium(system: NodeSystem, url: string, progress: (line: string) => void): Promise<FetchedMedium> {
  if (!/^https?:\/\//.test(url)) throw new UserError(`ros.install.iso_url ${url} is not an http(s) URL`, 'give the ISO\'s address, e.g. http://boot.example/rancheros.iso');
  const base = join(system.root, ISO_MEDIUM_DIR);
  const iso = join(base, 'medium.iso');
  const mountDir = join(ISO_MEDIUM_DIR, 'medium');
  await mkdir(join(system.root, mountDir), { recursive: true });
  const release = async () => {
    await system.run('umount', [join(system.root, mountDir)]);
    await rm(base, { recursive: true, force: true });
  };
  try {
    progress(`fetching ${url}`);
    const response = await fetch(url).catch((error: Error) => {
      throw new UserError(`could not fetch ros.install.iso_url ${url}: ${(error.cause as Error | undefined)?.message ?? error.message}`, 'check the URL and that this machine reaches the server; nothing was written');
    });
    if (!response.ok || !response.body) throw new UserError(`could not fetch ros.install.iso_url ${url}: HTTP ${response.status}`, 'check the URL; nothing was written');
    let bytes = 0;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).on('data', (chunk: Buffer) => (bytes += chunk.length));
    await pipeline(body, createWriteStream(iso));
    progress(`fetched ${formatBytes(bytes)}; mounting it`);
    await mustRun(system, 'mount', ['-o', 'loop,ro', '-t', 'iso9660', iso, join(system.root, mountDir)]);
    return { dir: mountDir, release };
  } catch (error) {
    await release();
    throw error;
  }
}
