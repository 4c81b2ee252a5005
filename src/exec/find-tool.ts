import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Debian keeps mkfs.*, debugfs and sgdisk's friends in the sbin directories, which are not on a normal user's PATH. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The tool's path on `searchPath` (default PATH) or in the sbin directories; undefined when it is nowhere. */
export async function locateTool(name: string, searchPath = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of [...searchPath.split(delimiter).filter(Boolean), ...SBIN_DIRS]) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** The tool's path, else its bare name, for runCommand to report as not found. */
export async function findTool(name: string): Promise<string> {
  return (await locateTool(name)) ?? name;
}
