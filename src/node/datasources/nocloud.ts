/**
 * A NoCloud volume's files (cloud-init's NoCloud data source): `user-data`,
 * and `meta-data` in YAML with `local-hostname` and `public-keys` (a list, a
 * map of name to key, or one key). `vendor-data` is ignored: it is the
 * platform's configuration, and this OS takes none from a platform.
 */
import { join } from 'node:path';
import { parse } from 'yaml';
import { collectSshKeys, decodeUserData, readHostname } from './decode.js';
import { readOptionalFile } from './volume-files.js';
import type { SourceAnswer } from './types.js';

/**
 * Read a mounted NoCloud volume. A volume with neither file is not NoCloud
 * and throws; a meta-data that does not parse is reported through `warn` and
 * skipped, so that the user data on the same volume still applies.
 */
export async function readNoCloudDir(dir: string, warn: (message: string) => void = () => {}): Promise<SourceAnswer> {
  const [userDataBytes, metaDataBytes] = await Promise.all([readOptionalFile(join(dir, 'user-data')), readOptionalFile(join(dir, 'meta-data'))]);
  if (userDataBytes === undefined && metaDataBytes === undefined) throw new Error(`neither user-data nor meta-data in ${dir}`);
  const metaData = readMetaData(metaDataBytes, warn);
  const hostname = readHostname(metaData['local-hostname']) ?? readHostname(metaData['hostname']);
  return { userData: decodeUserData(userDataBytes), sshKeys: collectSshKeys(metaData['public-keys']), ...(hostname === undefined ? {} : { hostname }) };
}

function readMetaData(bytes: Buffer | undefined, warn: (message: string) => void): Record<string, unknown> {
  if (bytes === undefined) return {};
  let value: unknown;
  try {
    value = parse(bytes.toString('utf8'));
  } catch (error) {
    warn(`meta-data is not YAML, its hostname and keys are skipped: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    warn('meta-data is not a YAML map, its hostname and keys are skipped');
    return {};
  }
  return value as Record<string, unknown>;
}
