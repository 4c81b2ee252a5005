import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Debian keeps mkfs.*, debugfs and sgdisk's friends in /usr/sbin, which is not on a normal user's PATH. */
const SBIN_DIRS = ['/usr/sbin', '/sbin'];

/** The tool's path on PATH or in the sbin directories; else its bare name, for runCommand to report as not found. */
export async function findTool(name: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return name;
}
