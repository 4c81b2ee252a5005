import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSystem } from '../system.js';
import { writeFileAtomic } from '../write-atomic.js';

/**
 * ros.environment for login sessions (/etc/environment, read by pam_env) and
 * for every unit systemd starts from now on (the manager's environment).
 * Values are never logged: a proxy URL may carry a password.
 */
export async function setEnvironment(system: NodeSystem, environment: Readonly<Record<string, unknown>>): Promise<void> {
  const entries = Object.entries(environment).map(([name, value]) => [name, String(value)] as const);
  for (const [name, value] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`ros.environment: "${name}" is not a variable name`);
    if (/[\n"\\]/.test(value)) throw new Error(`ros.environment[${name}]: a value cannot hold a newline, a double quote or a backslash`);
  }
  const path = join(system.root, 'etc/environment');
  const names = new Set(entries.map(([name]) => name));
  const kept = (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '' && !names.has(l.split('=')[0]!.trim()));
  await writeFileAtomic(path, [...kept, ...entries.map(([n, v]) => `${n}="${v}"`)].map((l) => `${l}\n`).join(''), 0o644);
  // Set once per boot (the manager keeps it across phases): a process less in the next phase.
  const applied = join(system.root, 'run/ros/environment');
  const wanted = JSON.stringify(entries);
  if (entries.length === 0 || (await readFile(applied, 'utf8').catch(() => '')) === wanted) return;
  const result = await system.run('systemctl', ['set-environment', ...entries.map(([n, v]) => `${n}=${v}`)]);
  if (result.code !== 0) throw new Error(`systemctl set-environment failed (exit ${result.code})`);
  await writeFileAtomic(applied, wanted, 0o600);
}

/** The environment commands of a phase run with. */
export function commandEnvironment(environment: Readonly<Record<string, unknown>> | undefined): NodeJS.ProcessEnv {
  const extra = Object.fromEntries(Object.entries(environment ?? {}).map(([n, v]) => [n, String(v)]));
  return { ...process.env, ...extra };
}
