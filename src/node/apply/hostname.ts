import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSystem } from '../system.js';

/** The hostname now (the kernel's) and for everything that reads /etc/hostname and /etc/hosts. */
export async function setHostname(system: NodeSystem, name: string): Promise<void> {
  await writeFile(join(system.root, 'etc/hostname'), `${name}\n`);
  await pinHostsEntry(join(system.root, 'etc/hosts'), name);
  // Each phase applies the hostname again: a process less when the kernel has it already.
  const current = await readFile(join(system.root, 'proc/sys/kernel/hostname'), 'utf8').catch(() => '');
  if (current.trim() === name) return;
  const result = await system.run('hostname', [name]);
  if (result.code !== 0) throw new Error(`hostname ${name} failed: ${result.output.trim()}`);
}

/** Debian's convention: the host's own name on 127.0.1.1, so it resolves without DNS (sudo asks for it). */
async function pinHostsEntry(path: string, name: string): Promise<void> {
  let lines: string[] = [];
  try {
    lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch {
    lines = ['127.0.0.1\tlocalhost'];
  }
  const short = name.split('.')[0]!;
  const entry = short === name ? `127.0.1.1\t${name}` : `127.0.1.1\t${name} ${short}`;
  const kept = lines.filter((l) => !/^127\.0\.1\.1\s/.test(l));
  await writeFile(path, `${[...kept, entry].join('\n')}\n`);
}
