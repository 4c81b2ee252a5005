import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { listYaml, SOURCE_PATHS } from '../config-sources.js';
import { hashPassword, isCryptHash } from '../crypt.js';
import { writeFileAtomic } from '../write-atomic.js';

/**
 * A clear-text `ros.password` in a config file ros can write (COS_OEM,
 * /var/lib/rancher/ros) is replaced by its hash, comments and all else kept:
 * after the first boot the clear text is on no disk. The live medium and the
 * kernel command line cannot be rewritten (the README says to put a hash there).
 */
export async function hashClearPasswords(root: string): Promise<string[]> {
  const messages: string[] = [];
  const files = [
    ...(await listYaml(join(root, SOURCE_PATHS.oem))),
    join(root, SOURCE_PATHS.local),
    ...(await listYaml(join(root, SOURCE_PATHS.localDir))),
  ];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const rewritten = hashPasswordInText(text);
    if (rewritten === undefined) continue;
    try {
      await writeFileAtomic(file, rewritten, (await stat(file)).mode & 0o7777);
      messages.push(`${file}: ros.password was clear text; replaced by its hash`);
    } catch (error) {
      messages.push(`warning: ${file}: ros.password is clear text and the file cannot be rewritten (${(error as Error).message})`);
    }
  }
  return messages;
}

/** The document with a clear-text ros.password hashed, or undefined when there is nothing to hash (or it is not YAML). */
export function hashPasswordInText(text: string): string | undefined {
  const document = parseDocument(text);
  if (document.errors.length > 0) return undefined;
  const password: unknown = document.getIn(['ros', 'password']);
  if (typeof password !== 'string' || password === '' || isCryptHash(password)) return undefined;
  document.setIn(['ros', 'password'], hashPassword(password));
  return document.toString();
}
