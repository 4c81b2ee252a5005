/**
 * ros.install.image: install an OCI image from a registry instead of the
 * system that is running (a network boot then installs straight from the
 * registry). Checked exactly as `ros upgrade` checks an image (digest, and
 * the signature when a key is set) before the disk is touched; written into
 * the first slot with the upgrade's writer, then copied to the others.
 */
import { UserError } from '../../errors.js';
import type { NodeSystem } from '../system.js';

export interface InstallImage {
  /** REF@DIGEST, as checked. */
  reference: string;
  /** What one slot of it takes (the layout is sized by it). */
  estimatedBytes: number;
  /** Pull the checked digest's layers and write squashfs, kernel and initramfs into `dir`. */
  pullInto(dir: string): Promise<void>;
}

export async function checkInstallImage(
  system: NodeSystem,
  request: { image: string; verifyKey?: string; allowHttp: boolean },
  progress: (line: string) => void,
): Promise<InstallImage> {
  // The registry client and the verifier live in ros-upgrade.cjs, loaded only when an image is to be pulled.
  const { estimateImageBytes, renderCheck, resolveUpgrade, writeImage } = await import('../upgrade/index.js');
  const resolved = await resolveUpgrade(system, { image: request.image, key: request.verifyKey, allowHttp: request.allowHttp }).catch((error: Error) => {
    throw new UserError(
      `ros.install.image ${request.image} was refused: ${error.message}`,
      'nothing was written to the disk; give the key the image is signed with (ros.install.verify_key), sign it (ros-build sign), or check that the registry is reachable',
    );
  });
  progress(renderCheck(resolved.check).trim());
  return {
    reference: `${resolved.check.reference}@${resolved.check.digest}`,
    estimatedBytes: estimateImageBytes(resolved.check),
    async pullInto(dir) {
      await writeImage(resolved.client, resolved.layers, dir, (line) => progress(line.replace(/^ros: /, '')));
    },
  };
}
