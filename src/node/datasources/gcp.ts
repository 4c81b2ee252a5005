/**
 * Google Compute Engine metadata server. Every request carries
 * `Metadata-Flavor: Google` and every answer must carry it back: that header
 * is what tells GCE's server apart from other clouds' servers on the same
 * link-local address (and a proxy that merely relays a 404).
 */
import { readOptionalBody, readOptionalText, requestHttp, type HttpResponse } from './http.js';
import { decodeUserData } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

/** metadata.google.internal resolves to this address; the address needs no DNS, which may not be set up yet. */
export const GCP_ENDPOINT = 'http://169.254.169.254';
const PREFIX = '/computeMetadata/v1';

export async function probeGcp(context: ProbeContext): Promise<SourceAnswer> {
  const get = async (path: string): Promise<HttpResponse> => {
    const response = await requestHttp(context.baseUrl + PREFIX + path, { headers: { 'Metadata-Flavor': 'Google' }, signal: context.signal });
    if (response.headers['metadata-flavor'] !== 'Google') throw new Error(`answer without "Metadata-Flavor: Google" (HTTP ${response.status}): not a GCE metadata server`);
    return response;
  };
  const [userDataResponse, instanceKeys, projectKeys, blockProjectKeys, hostnameResponse] = await Promise.all([
    get('/instance/attributes/user-data'),
    get('/instance/attributes/ssh-keys'),
    get('/project/attributes/ssh-keys'),
    get('/instance/attributes/block-project-ssh-keys'),
    get('/instance/hostname'),
  ]);
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'instance/attributes/user-data'));
  // Project-wide keys apply to every instance unless the instance blocks them (GCE's documented rule).
  const blocked = readOptionalText(blockProjectKeys)?.toLowerCase() === 'true';
  const keyLines = [readOptionalText(instanceKeys), blocked ? undefined : readOptionalText(projectKeys)].filter((text) => text !== undefined).join('\n');
  const hostname = readOptionalText(hostnameResponse);
  return { userData, sshKeys: parseGcpSshKeys(keyLines), ...(hostname === undefined ? {} : { hostname }) };
}

/** `ssh-keys` holds `USER:KEY` lines; the node has one login user, rancher, who gets every key whatever its USER. */
export function parseGcpSshKeys(text: string): string[] {
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const colon = line.indexOf(':');
      // A colon after a space belongs to the key's comment, not to a user prefix.
      return colon > 0 && !/\s/.test(line.slice(0, colon)) ? line.slice(colon + 1).trim() : line;
    })
    .filter((key) => key !== '');
  return [...new Set(keys)];
}
