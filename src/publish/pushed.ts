import { join } from 'node:path';
import { UserError } from '../errors.js';
import { listPushRecords, readManifest, type PushRecord } from '../outputs/manifest.js';

/**
 * What build/manifest.json records as pushed for the image `imageRef`. A
 * manifest written for another REPO/TAG is refused rather than silently
 * signing or verifying something other than what was asked for.
 */
export async function readPushRecords(outputDir: string, imageRef: string): Promise<PushRecord[]> {
  const manifest = await readManifest(outputDir);
  if (manifest.image && manifest.image.ref !== imageRef) {
    throw new UserError(
      `${join(outputDir, 'manifest.json')} describes ${manifest.image.ref}, not ${imageRef}`,
      'use the same REPO and TAG as for the build and push, or name the references to sign or verify',
    );
  }
  return listPushRecords(manifest);
}
