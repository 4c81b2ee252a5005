/**
 * The ovf source: vSphere's OVF environment on a CD-ROM (vApp options with
 * the `iso` transport), read the way cloud-init's OVF source reads it:
 * `<PropertySection><Property oe:key="…" oe:value="…"/>` with the keys
 * `hostname` (or `local-hostname`), `public-keys` (one key a line) and
 * `user-data` (base64). The OVA's descriptor (src/artifacts/formats/ova.ts)
 * declares these properties, so vSphere asks for them at deployment.
 */
import { decodeUserData, readHostname, splitKeyLines } from './decode.js';
import { decodeBase64Field, readOvfEnvironment } from './ovf-env.js';
import type { ProbeContext, SourceAnswer } from './types.js';
import { findElement, findElements, type XmlElement } from '../../xml.js';

export async function probeOvf(context: ProbeContext): Promise<SourceAnswer> {
  const environment = await readOvfEnvironment(context.cdrom, context.signal);
  if (environment === undefined) throw new Error('no ovf-env.xml on an optical drive');
  return readOvfProperties(environment.root, (message) => context.warn(`${environment.device}: ${message}`));
}

/**
 * The answer in an OVF environment's properties. A property that cannot be
 * read (user-data that is not base64) is reported and skipped: the others
 * still apply. An environment without a PropertySection is not vSphere's.
 */
export function readOvfProperties(root: XmlElement, warn: (message: string) => void): SourceAnswer {
  if (root.name !== 'Environment') throw new Error(`ovf-env.xml: the root element is <${root.name}>, not <Environment>`);
  const section = findElement(root, 'PropertySection');
  if (section === undefined) throw new Error('ovf-env.xml has no PropertySection');
  const properties = new Map<string, string>();
  for (const property of findElements(section, 'Property')) {
    if (property.attributes.key !== undefined) properties.set(property.attributes.key, property.attributes.value ?? '');
  }
  let userData: string | undefined;
  const encoded = properties.get('user-data')?.trim();
  if (encoded) {
    try {
      userData = decodeUserData(decodeBase64Field(encoded, 'property user-data'));
    } catch (error) {
      warn(`ovf-env.xml: ${(error as Error).message}; the user data is skipped`);
    }
  }
  const hostname = readHostname(properties.get('hostname')) ?? readHostname(properties.get('local-hostname'));
  return { userData, sshKeys: [...new Set(splitKeyLines(properties.get('public-keys') ?? ''))], ...(hostname === undefined ? {} : { hostname }) };
}
