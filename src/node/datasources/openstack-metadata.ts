/**
 * OpenStack's `meta_data.json`, as both the metadata service and a config-2
 * drive serve it: `public_keys` maps key names to keys, `hostname` names the
 * machine.
 */
import { collectSshKeys, readHostname } from './decode.js';

export function readOpenStackMetaData(metaData: Record<string, unknown>): { sshKeys: string[]; hostname?: string } {
  const hostname = readHostname(metaData['hostname']);
  return { sshKeys: collectSshKeys(metaData['public_keys']), ...(hostname === undefined ? {} : { hostname }) };
}
