/**
 * Azure Instance Metadata Service. Requests need `Metadata: true` (IMDS
 * refuses requests without it, which keeps forwarded requests out); the
 * user data comes base64-encoded.
 */
import { readOptionalText, requestHttp } from './http.js';
import { collectSshKeys, decodeUserData, readHostname } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const AZURE_ENDPOINT = 'http://169.254.169.254';
const API_VERSION = '2021-01-01';

export async function probeAzure(context: ProbeContext): Promise<SourceAnswer> {
  const headers = { Metadata: 'true' };
  const [userDataResponse, computeResponse] = await Promise.all([
    requestHttp(`${context.baseUrl}/metadata/instance/compute/userData?api-version=${API_VERSION}&format=text`, { headers, signal: context.signal }),
    requestHttp(`${context.baseUrl}/metadata/instance/compute?api-version=${API_VERSION}`, { headers, signal: context.signal }),
  ]);
  // IMDS answers 200 (with an empty body when there is no user data); a 404 is another cloud's server.
  if (userDataResponse.status !== 200) throw new Error(`HTTP ${userDataResponse.status} for compute/userData`);
  const encoded = userDataResponse.body.toString('utf8').trim();
  const userData = decodeUserData(encoded === '' ? undefined : decodeBase64(encoded));
  const { sshKeys, hostname } = readComputeMetadata(readOptionalText(computeResponse));
  return { userData, sshKeys, ...(hostname === undefined ? {} : { hostname }) };
}

function decodeBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text)) throw new Error('compute/userData is not base64');
  return Buffer.from(text, 'base64');
}

/** Keys (`publicKeys[].keyData`) and hostname (`osProfile.computerName`) from the compute category, when it answers. */
function readComputeMetadata(text: string | undefined): { sshKeys: string[]; hostname?: string } {
  if (text === undefined) return { sshKeys: [] };
  let compute: unknown;
  try {
    compute = JSON.parse(text);
  } catch {
    return { sshKeys: [] };
  }
  if (typeof compute !== 'object' || compute === null) return { sshKeys: [] };
  const record = compute as { publicKeys?: unknown; osProfile?: { computerName?: unknown } };
  const keyData = Array.isArray(record.publicKeys) ? record.publicKeys.map((entry: unknown) => (entry as { keyData?: unknown } | null)?.keyData) : [];
  const hostname = readHostname(record.osProfile?.computerName);
  return { sshKeys: collectSshKeys(keyData), ...(hostname === undefined ? {} : { hostname }) };
}
