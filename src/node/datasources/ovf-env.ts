/**
 * The OVF environment (`ovf-env.xml`) on a CD-ROM, as vSphere (transport
 * `iso`, the vApp options) and Azure (its UDF provisioning disc) hand it to a
 * VM. Found on the optical drives by file name, whatever the disc's label;
 * the two dialects are read by ovf.ts (PropertySection) and azure.ts
 * (ProvisioningSection).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CdromAccess } from './types.js';
import { parseXml, type XmlElement } from '../../xml.js';

/** A file this large is not an OVF environment (Azure's custom data is at most 64 KiB, base64). */
const MAX_BYTES = 1024 * 1024;

export interface OvfEnvironment {
  /** The optical drive it was read from, for messages. */
  device: string;
  root: XmlElement;
}

/**
 * Read the first `ovf-env.xml` (any case; cloud-init also takes `ovf_env.xml`)
 * on the machine's optical drives. Undefined when no drive holds one; a file
 * that is not well-formed throws, naming the drive.
 */
export async function readOvfEnvironment(cdrom: CdromAccess, signal: AbortSignal): Promise<OvfEnvironment | undefined> {
  for (const device of await cdrom.findOpticalDrives()) {
    if (signal.aborted) break;
    let mounted;
    try {
      mounted = await cdrom.mountReadOnly(device);
    } catch {
      continue; // an empty drive, or a disc without a file system
    }
    try {
      const name = (await readdir(mounted.dir)).find((entry) => /^ovf[-_]env\.xml$/i.test(entry));
      if (name === undefined) continue;
      const bytes = await readFile(join(mounted.dir, name));
      if (bytes.length > MAX_BYTES) throw new Error(`${device}: ${name} is ${bytes.length} bytes, more than an OVF environment holds`);
      try {
        return { device, root: parseXml(bytes.toString('utf8')) };
      } catch (error) {
        throw new Error(`${device}: ${name}: ${(error as Error).message}`);
      }
    } finally {
      await mounted.unmount().catch(() => {});
    }
  }
  return undefined;
}

/** Strict base64 (white space allowed, as line-wrapped values have it); `what` names the field in the error. */
export function decodeBase64Field(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text)) throw new Error(`${what} is not base64`);
  return Buffer.from(text, 'base64');
}
