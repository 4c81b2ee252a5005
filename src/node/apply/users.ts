import { mkdir, chown, chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findAccount } from '../accounts.js';
import { hashPassword, isCryptHash, verifyPassword } from '../crypt.js';
import type { NodeSystem } from '../system.js';
import { writeFileAtomic } from '../write-atomic.js';

/** The one login user (docs/configuration.md): keys and password go to it, never to root. */
export const LOGIN_USER = 'rancher';

/**
 * Add each key the login user does not have yet. Keys already there (added by
 * hand on a persistent /home) stay: applying twice gives the same file.
 */
export async function authorizeKeys(root: string, keys: readonly string[]): Promise<void> {
  const account = await findAccount(root, LOGIN_USER);
  if (!account) throw new Error(`user ${LOGIN_USER} does not exist in this image`);
  const sshDir = join(root, account.home, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await chown(sshDir, account.uid, account.gid);
  await chmod(sshDir, 0o700);
  const file = join(sshDir, 'authorized_keys');
  const present = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l.trim() !== '');
  const wanted = keys.map((k) => k.trim()).filter((k) => k !== '');
  const missing = wanted.filter((key, i) => !present.includes(key) && wanted.indexOf(key) === i);
  await writeFileAtomic(file, [...present, ...missing].map((l) => `${l}\n`).join(''), 0o600, { uid: account.uid, gid: account.gid });
}

/**
 * Store the login user's password as a crypt hash: a hash as given, clear
 * text hashed here (sha512-crypt). When the stored hash already matches, it is
 * kept, so applying twice does not re-salt /etc/shadow. The value reaches
 * chpasswd on stdin, never in argv or a log.
 */
export async function setPassword(system: NodeSystem, password: string): Promise<void> {
  const current = await readShadowHash(system.root, LOGIN_USER);
  const given = isCryptHash(password);
  if (current !== undefined && (given ? current === password : verifyPassword(password, current))) return;
  const hash = given ? password : hashPassword(password);
  const result = await system.run('chpasswd', ['--encrypted'], { input: `${LOGIN_USER}:${hash}\n` });
  if (result.code !== 0) throw new Error(`chpasswd failed (exit ${result.code})`);
}

async function readShadowHash(root: string, user: string): Promise<string | undefined> {
  const text = await readFile(join(root, 'etc/shadow'), 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith(`${user}:`));
  return line?.split(':')[1];
}
