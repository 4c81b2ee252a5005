/**
 * DigitalOcean droplet metadata (documented at docs.digitalocean.com,
 * "Droplet Metadata API"): plain-text items under /metadata/v1/. The
 * hostname must answer, as proof that this is DigitalOcean's service and not
 * another cloud's server answering 404 on the same address.
 */
import { readOptionalBody, readOptionalText, requestHttp } from './http.js';
import { decodeUserData, splitKeyLines } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const DIGITALOCEAN_ENDPOINT = 'http://169.254.169.254';

export async function probeDigitalOcean(context: ProbeContext): Promise<SourceAnswer> {
  const get = (item: string) => requestHttp(`${context.baseUrl}/metadata/v1/${item}`, { signal: context.signal });
  const [hostnameResponse, userDataResponse, keysResponse] = await Promise.all([get('hostname'), get('user-data'), get('public-keys')]);
  const hostname = readOptionalText(hostnameResponse);
  if (hostname === undefined) throw new Error(`HTTP ${hostnameResponse.status} for metadata/v1/hostname`);
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'metadata/v1/user-data'));
  const keys = readOptionalText(keysResponse);
  return { userData, sshKeys: keys === undefined ? [] : [...new Set(splitKeyLines(keys))], hostname };
}
