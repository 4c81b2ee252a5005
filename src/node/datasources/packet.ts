/**
 * Equinix Metal (formerly Packet): a JSON document at /metadata (keys in
 * `ssh_keys`, `hostname`) and the raw user data at /userdata, both on
 * metadata.platformequinix.com over HTTPS. The service is reached over the
 * public network, so it needs DNS and a route; the metadata document must
 * answer as proof.
 */
import { readJsonObject, readOptionalBody, requestHttp } from './http.js';
import { collectSshKeys, decodeUserData, readHostname } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const PACKET_ENDPOINT = 'https://metadata.platformequinix.com';

export async function probePacket(context: ProbeContext): Promise<SourceAnswer> {
  const [metadataResponse, userDataResponse] = await Promise.all([
    requestHttp(`${context.baseUrl}/metadata`, { signal: context.signal }),
    requestHttp(`${context.baseUrl}/userdata`, { signal: context.signal }),
  ]);
  const metadata = readJsonObject(metadataResponse, 'metadata');
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'userdata'));
  const hostname = readHostname(metadata['hostname']);
  return { userData, sshKeys: collectSshKeys(metadata['ssh_keys']), ...(hostname === undefined ? {} : { hostname }) };
}
