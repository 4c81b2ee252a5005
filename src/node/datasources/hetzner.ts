/**
 * Hetzner Cloud server metadata under /hetzner/v1/. The public-keys item is
 * described both as a JSON list and as a YAML list, so it is parsed
 * leniently. Proof of Hetzner: the hostname item answers, or the userdata
 * item answers 200.
 */
import { readOptionalBody, readOptionalText, requestHttp } from './http.js';
import { decodeUserData, parseKeyList } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const HETZNER_ENDPOINT = 'http://169.254.169.254';

export async function probeHetzner(context: ProbeContext): Promise<SourceAnswer> {
  const get = (path: string) => requestHttp(`${context.baseUrl}/hetzner/v1/${path}`, { signal: context.signal });
  const [userDataResponse, hostnameResponse, keysResponse] = await Promise.all([get('userdata'), get('metadata/hostname'), get('metadata/public-keys')]);
  const hostname = readOptionalText(hostnameResponse);
  if (hostname === undefined && userDataResponse.status !== 200) throw new Error(`HTTP ${hostnameResponse.status} for hetzner/v1/metadata/hostname`);
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'hetzner/v1/userdata'));
  const keys = readOptionalText(keysResponse);
  return { userData, sshKeys: keys === undefined ? [] : parseKeyList(keys), ...(hostname === undefined ? {} : { hostname }) };
}
