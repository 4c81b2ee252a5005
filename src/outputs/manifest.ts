import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeAtomically } from '../fsutil/atomic.js';

/** Where something from this build was pushed: the reference used and the digest the registry holds. */
export interface PushRecord {
  reference: string;
  digest: string;
}

export interface ManifestArtifact {
  path: string;
  format: string;
  size: number;
  sha256: string;
  image: string;
  pushed?: PushRecord;
}

export interface Manifest {
  /** `revision`: the source revision (git) the image was first built from. */
  image?: { ref: string; id: string; revision?: string; pushed?: PushRecord };
  artifacts: ManifestArtifact[];
}

export const CHECKSUMS_FILE = 'SHA256SUMS';
/** What signing SHA256SUMS produces; stale once the sums change. */
export const CHECKSUM_SIGNATURE_FILES = ['SHA256SUMS.sig', 'SHA256SUMS.pem', 'SHA256SUMS.sigstore.json'];

/**
 * Update build/manifest.json: the image just built and the artifacts just
 * written replace earlier entries for the same path; entries whose files are
 * gone, or that belong to another image reference, are dropped, so the
 * manifest (and SHA256SUMS) list exactly this build's files. Push records
 * survive only while the image and files are the same bytes.
 */
export async function updateManifest(
  outputDir: string,
  image: { ref: string; id: string; revision?: string },
  artifacts: Array<{ path: string; format: string; size: number; sha256: string }>,
): Promise<string> {
  const previous = await readManifest(outputDir);
  const samePrevious = (path: string, sha256: string) => previous.artifacts.find((a) => a.path === path && a.sha256 === sha256 && a.image === image.id);
  const fresh = artifacts.map((a) => {
    const path = relative(outputDir, a.path);
    const pushed = samePrevious(path, a.sha256)?.pushed;
    return { ...a, path, image: image.id, ...(pushed ? { pushed } : {}) };
  });
  const freshPaths = new Set(fresh.map((a) => a.path));
  // The manifest describes one image: media of another REPO:TAG in the same directory are not part of this release.
  const sameRef = previous.image?.ref === image.ref;
  const kept = previous.artifacts.filter((a) => sameRef && !freshPaths.has(a.path) && existsSync(join(outputDir, a.path)));
  const sameImage = previous.image?.id === image.id && previous.image.ref === image.ref;
  const imagePushed = sameImage ? previous.image!.pushed : undefined;
  // An unchanged image keeps the revision it was built from, so re-pushing it gives the same digests.
  const revision = (sameImage ? previous.image!.revision : undefined) ?? image.revision;
  const manifest: Manifest = {
    image: { ...image, ...(revision ? { revision } : {}), ...(imagePushed ? { pushed: imagePushed } : {}) },
    artifacts: [...kept, ...fresh].sort((a, b) => a.path.localeCompare(b.path)),
  };
  return writeManifest(outputDir, manifest);
}

/** Everything the manifest says was pushed: the image first, then the media. */
export function listPushRecords(manifest: Manifest): PushRecord[] {
  return [manifest.image?.pushed, ...manifest.artifacts.map((a) => a.pushed)].filter((p): p is PushRecord => Boolean(p));
}

export async function writeManifest(outputDir: string, manifest: Manifest): Promise<string> {
  const path = join(outputDir, 'manifest.json');
  await writeAtomically(path, (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`));
  await writeChecksums(outputDir, manifest.artifacts);
  return path;
}

export async function readManifest(outputDir: string): Promise<Manifest> {
  try {
    const parsed = JSON.parse(await readFile(join(outputDir, 'manifest.json'), 'utf8')) as Manifest;
    return { ...parsed, artifacts: Array.isArray(parsed.artifacts) ? parsed.artifacts : [] };
  } catch {
    return { artifacts: [] };
  }
}

/** SHA256SUMS in `sha256sum` format, so `sha256sum -c SHA256SUMS` works in the output directory. */
export function formatChecksums(artifacts: ReadonlyArray<{ path: string; sha256: string }>): string {
  return artifacts.map((a) => `${a.sha256}  ${a.path}\n`).join('');
}

/** Rewrite SHA256SUMS; when its content changes, its old signature no longer applies and is removed. */
async function writeChecksums(outputDir: string, artifacts: ManifestArtifact[]): Promise<void> {
  const path = join(outputDir, CHECKSUMS_FILE);
  const text = formatChecksums(artifacts);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) return;
  await Promise.all(CHECKSUM_SIGNATURE_FILES.map((name) => rm(join(outputDir, name), { force: true })));
  await writeAtomically(path, (tmp) => writeFile(tmp, text));
}
