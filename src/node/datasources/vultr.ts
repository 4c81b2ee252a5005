/**
 * Vultr metadata. Vultr documents /v1.json (the whole metadata tree as JSON,
 * `hostname` among its fields) and /latest/user-data (the user data, already
 * base64-decoded by the service). The keys field of v1.json is read as
 * `public-keys`: the name the metadata tree uses, though the documentation's
 * sample as seen here does not show it (unconfirmed; untested here).
 */
import { readJsonObject, readOptionalBody, requestHttp } from './http.js';
import { collectSshKeys, decodeUserData, readHostname } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const VULTR_ENDPOINT = 'http://169.254.169.254';

export async function probeVultr(context: ProbeContext): Promise<SourceAnswer> {
  const [metadataResponse, userDataResponse] = await Promise.all([
    requestHttp(`${context.baseUrl}/v1.json`, { signal: context.signal }),
    requestHttp(`${context.baseUrl}/latest/user-data`, { signal: context.signal }),
  ]);
  // v1.json is Vultr's own: it proves the service is Vultr's, where /latest/user-data alone would not.
  const metadata = readJsonObject(metadataResponse, 'v1.json');
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'latest/user-data'));
  const hostname = readHostname(metadata['hostname']);
  return { userData, sshKeys: collectSshKeys(metadata['public-keys']), ...(hostname === undefined ? {} : { hostname }) };
}
