/**
 * An OpenStack config drive (a volume labelled config-2): the same
 * `user_data` and `meta_data.json` the metadata service serves, as files
 * under openstack/latest/.
 */
import { join } from 'node:path';
import { decodeUserData, parseJsonObject } from './decode.js';
import { readOpenStackMetaData } from './openstack-metadata.js';
import { readOptionalFile } from './volume-files.js';
import type { SourceAnswer } from './types.js';

/** Read a mounted config drive; `meta_data.json` is always written by OpenStack, so a drive without it throws. */
export async function readConfigDriveDir(dir: string): Promise<SourceAnswer> {
  const latest = join(dir, 'openstack', 'latest');
  const [userDataBytes, metaDataBytes] = await Promise.all([readOptionalFile(join(latest, 'user_data')), readOptionalFile(join(latest, 'meta_data.json'))]);
  if (metaDataBytes === undefined) throw new Error(`no openstack/latest/meta_data.json in ${dir}`);
  const metaData = parseJsonObject(metaDataBytes.toString('utf8'), 'openstack/latest/meta_data.json');
  return { userData: decodeUserData(userDataBytes), ...readOpenStackMetaData(metaData) };
}
