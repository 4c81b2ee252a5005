import { join } from 'node:path';
import type { WriteFile } from '../../config/types.js';
import { findAccount, findGroupId } from '../accounts.js';
import { decodeContent, parseOwner, parsePermissions } from '../encodings.js';
import { writeFileAtomic } from '../write-atomic.js';

/** write_files: every entry decoded, owned and moded as asked; one bad entry does not stop the others. */
export async function writeFiles(root: string, files: readonly WriteFile[]): Promise<string[]> {
  const errors: string[] = [];
  for (const [index, file] of files.entries()) {
    try {
      const content = decodeContent(file.content, file.encoding);
      const mode = parsePermissions(file.permissions as string | number | undefined);
      const { user, group } = parseOwner(file.owner);
      const account = await findAccount(root, user);
      if (!account) throw new Error(`owner "${user}" is not a user on this system`);
      const gid = group === undefined ? account.gid : await findGroupId(root, group);
      if (gid === undefined) throw new Error(`group "${group}" is not a group on this system`);
      await writeFileAtomic(join(root, file.path), content, mode, { uid: account.uid, gid });
    } catch (error) {
      errors.push(`write_files[${index}] (${file.path}): ${(error as Error).message}`);
    }
  }
  return errors;
}
