import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSystem } from '../system.js';

export async function loadModules(system: NodeSystem, modules: readonly string[]): Promise<string[]> {
  const errors: string[] = [];
  for (const module of modules) {
    // Loaded already (by an earlier phase, or built in): a process less.
    if (await access(join(system.root, 'sys/module', module.replace(/-/g, '_'))).then(() => true, () => false)) continue;
    const result = await system.run('modprobe', [module]);
    if (result.code !== 0) errors.push(`ros.modules: ${module}: ${result.output.trim() || `modprobe exited ${result.code}`}`);
  }
  return errors;
}

/** Straight into /proc/sys (no sysctl process per key); a dotted key is a path, as sysctl(8) reads it. */
export async function setSysctls(system: NodeSystem, sysctl: Readonly<Record<string, unknown>>): Promise<string[]> {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(sysctl)) {
    if (!/^[A-Za-z0-9_.\/-]+$/.test(key) || key.includes('..')) {
      errors.push(`ros.sysctl[${key}]: not a sysctl key`);
      continue;
    }
    try {
      await writeFile(join(system.root, 'proc/sys', key.replace(/\./g, '/')), `${String(value)}\n`);
    } catch (error) {
      errors.push(`ros.sysctl[${key}]: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such key in /proc/sys' : (error as Error).message}`);
    }
  }
  return errors;
}
