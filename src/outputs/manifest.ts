import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeAtomically } from '../fsutil/atomic.js';

export interface ManifestArtifact {
  path: string;
  format: string;
  size: number;
  sha256: string;
  image: string;
}

export interface Manifest {
  image?: { ref: string; id: string };
  artifacts: ManifestArtifact[];
}

/**
 * Update build/manifest.json: the image just built and the artifacts just
 * written replace earlier entries for the same path; entries whose files are
 * gone are dropped, so the manifest never lists what is not there.
 */
export async function updateManifest(
  outputDir: string,
  image: { ref: string; id: string },
  artifacts: Array<{ path: string; format: string; size: number; sha256: string }>,
): Promise<string> {
  const path = join(outputDir, 'manifest.json');
  const previous = await readManifest(path);
  const fresh = artifacts.map((a) => ({ ...a, path: relative(outputDir, a.path), image: image.id }));
  const freshPaths = new Set(fresh.map((a) => a.path));
  const kept = previous.artifacts.filter((a) => !freshPaths.has(a.path) && existsSync(join(outputDir, a.path)));
  const manifest: Manifest = { image, artifacts: [...kept, ...fresh].sort((a, b) => a.path.localeCompare(b.path)) };
  await writeAtomically(path, (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`));
  return path;
}

async function readManifest(path: string): Promise<Manifest> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    return { ...parsed, artifacts: Array.isArray(parsed.artifacts) ? parsed.artifacts : [] };
  } catch {
    return { artifacts: [] };
  }
}
