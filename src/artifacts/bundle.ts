/**
 * An air-gap bundle for a medium (`--bundle REF`, `--bundle-images FILE`):
 * images copied from their registries with their cosign signatures into an
 * OCI image layout, and image tarballs for the cluster in images/. The node
 * reads it where it would otherwise pull (disk/bundle.ts), with the same
 * signature check. Its key is what the medium's cache key takes from it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BUNDLE_IMAGES_DIR } from '../disk/bundle.js';
import { UserError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { measureTree } from '../fsutil/space.js';
import { copyImageToLayout } from '../publish/oci-layout.js';
import { RegistryClient } from '../publish/registry/client.js';
import { formatReference, parseReference } from '../publish/registry/reference.js';

export interface BundleRequest {
  images: readonly string[];
  imageTarballs: readonly string[];
  allowHttp: boolean;
}

export interface Bundle {
  dir: string;
  /** Over the layout's index (content-addressed) and each tarball's name and sha256. */
  key: string;
  bytes: number;
}

/** Write the bundle into `dir` (made here); one line per image through `log`. */
export async function prepareBundle(request: BundleRequest, dir: string, log: (line: string) => void): Promise<Bundle> {
  await mkdir(dir, { recursive: true });
  for (const image of request.images) {
    const ref = parseReference(image);
    const client = await RegistryClient.connect(ref, { allowHttp: request.allowHttp });
    const copied = await copyImageToLayout(client, ref, dir).catch((error: Error) => {
      throw new UserError(`--bundle ${image}: ${error.message}`, 'name an image the registry has (push it first), or drop the --bundle');
    });
    log(`bundle: ${formatReference(ref)} (${copied.digest}), ${copied.signed ? 'with its cosign signature' : 'NOT signed (a node with ros.kubernetes.verify_key will refuse it)'}, ${formatBytes(copied.bytes)}`);
  }
  const hash = createHash('sha256');
  hash.update(await readFile(join(dir, 'index.json')).catch(() => Buffer.alloc(0)));
  if (request.imageTarballs.length > 0) await mkdir(join(dir, BUNDLE_IMAGES_DIR));
  for (const file of request.imageTarballs) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new UserError(`--bundle-images ${file} is not a file`, 'give the distribution\'s images tarball (rke2-images.linux-amd64.tar.zst, k3s-airgap-images-amd64.tar.zst)');
    const name = basename(file);
    hash.update(`${name}\0${await sha256File(file)}\0`);
    await copyFile(file, join(dir, BUNDLE_IMAGES_DIR, name));
    log(`bundle: ${name} for the cluster's agent, ${formatBytes(info.size)}`);
  }
  return { dir, key: hash.digest('hex'), bytes: await measureTree(dir) };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
