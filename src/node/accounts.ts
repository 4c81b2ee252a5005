import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Users and groups as /etc/passwd and /etc/group under a root say: no NSS, no exec, works on a test root. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export async function findAccount(root: string, name: string): Promise<Account | undefined> {
  for (const fields of await readColonFile(join(root, 'etc/passwd'))) {
    if (fields[0] === name || fields[2] === name) {
      return { name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '/' };
    }
  }
  return undefined;
}

export async function findGroupId(root: string, name: string): Promise<number | undefined> {
  if (/^\d+$/.test(name)) return Number(name);
  const line = (await readColonFile(join(root, 'etc/group'))).find((fields) => fields[0] === name);
  return line ? Number(line[2]) : undefined;
}

async function readColonFile(path: string): Promise<string[][]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}
