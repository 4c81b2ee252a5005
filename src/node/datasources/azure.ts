/**
 * Azure: the Instance Metadata Service and, on a VM made from a generalized
 * image, the provisioning disc's ovf-env.xml. IMDS requests need
 * `Metadata: true` (IMDS refuses requests without it, which keeps forwarded
 * requests out); its user data comes base64-encoded. Azure also waits for
 * the node to report Ready: src/node/apply/azure-ready.ts.
 */
import { readOptionalText, requestHttp } from './http.js';
import { collectSshKeys, decodeUserData, readHostname } from './decode.js';
import { decodeBase64Field, readOvfEnvironment } from './ovf-env.js';
import { findElement, findElements, textOf, type XmlElement } from '../../xml.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const AZURE_ENDPOINT = 'http://169.254.169.254';
const API_VERSION = '2021-01-01';

export async function probeAzure(context: ProbeContext): Promise<SourceAnswer> {
  const [imds, provisioning] = await Promise.all([readImds(context).catch((error: Error) => error), readProvisioning(context)]);
  if (imds instanceof Error && provisioning === undefined) throw imds;
  if (imds instanceof Error) context.warn(`IMDS: ${imds.message}; using the provisioning disc alone`);
  const fromImds: SourceAnswer = imds instanceof Error ? { sshKeys: [] } : imds;
  // Custom data (the portal's, `az vm create --custom-data`) is on the disc only; IMDS has the separate user data.
  const userData = provisioning?.userData ?? fromImds.userData;
  const hostname = provisioning?.hostname ?? fromImds.hostname;
  return { userData, sshKeys: collectSshKeys([...(provisioning?.sshKeys ?? []), ...fromImds.sshKeys]), ...(hostname === undefined ? {} : { hostname }) };
}

async function readImds(context: ProbeContext): Promise<SourceAnswer> {
  const headers = { Metadata: 'true' };
  const [userDataResponse, computeResponse] = await Promise.all([
    requestHttp(`${context.baseUrl}/metadata/instance/compute/userData?api-version=${API_VERSION}&format=text`, { headers, signal: context.signal }),
    requestHttp(`${context.baseUrl}/metadata/instance/compute?api-version=${API_VERSION}`, { headers, signal: context.signal }),
  ]);
  // IMDS answers 200 (with an empty body when there is no user data); a 404 is another cloud's server.
  if (userDataResponse.status !== 200) throw new Error(`HTTP ${userDataResponse.status} for compute/userData`);
  const encoded = userDataResponse.body.toString('utf8').trim();
  const userData = decodeUserData(encoded === '' ? undefined : decodeBase64Field(encoded, 'compute/userData'));
  const { sshKeys, hostname } = readComputeMetadata(readOptionalText(computeResponse));
  return { userData, sshKeys, ...(hostname === undefined ? {} : { hostname }) };
}

/** The provisioning disc's answer, when a VM made from a generalized image has one; its problems are warnings, never the end. */
async function readProvisioning(context: ProbeContext): Promise<SourceAnswer | undefined> {
  try {
    const environment = await readOvfEnvironment(context.cdrom, context.signal);
    if (environment === undefined) return undefined;
    return readAzureProvisioning(environment.root, (message) => context.warn(`${environment.device}: ${message}`));
  } catch (error) {
    context.warn(`provisioning disc: ${(error as Error).message}; its settings are skipped`);
    return undefined;
  }
}

/**
 * Azure's `LinuxProvisioningConfigurationSet`: HostName, the SSH public keys
 * (their `Value`; the user name and key paths are the portal's user's, and
 * this node has one login user, rancher) and base64 CustomData. Undefined for
 * an OVF environment that is not Azure's (vSphere's, read by ovf.ts).
 */
export function readAzureProvisioning(root: XmlElement, warn: (message: string) => void): SourceAnswer | undefined {
  const set = findElement(root, 'LinuxProvisioningConfigurationSet');
  if (set === undefined) return undefined;
  let userData: string | undefined;
  const customData = textOf(set, 'CustomData');
  if (customData !== undefined) {
    try {
      userData = decodeUserData(decodeBase64Field(customData, 'CustomData'));
    } catch (error) {
      warn(`ovf-env.xml: ${(error as Error).message}; the custom data is skipped`);
    }
  }
  const keys = findElements(set, 'PublicKey');
  const values = keys.map((key) => textOf(key, 'Value')).filter((value): value is string => value !== undefined);
  if (values.length < keys.length) warn('ovf-env.xml: a PublicKey without a Value (a fingerprint alone) is skipped');
  const hostname = readHostname(textOf(set, 'HostName'));
  return { userData, sshKeys: collectSshKeys(values), ...(hostname === undefined ? {} : { hostname }) };
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
