import { stat } from 'node:fs/promises';
import type { ArtifactLabels } from './artifact.js';

/**
 * Labels that stay the same when the same build is pushed again, so a rerun
 * yields the same manifest digest: the creation time is SOURCE_DATE_EPOCH or
 * the file's modification time, never "now"; the revision is the one the
 * build recorded, not whatever HEAD is at push time.
 */
export async function describeArtifact(filePath: string, version: string, image: string, revision: string | undefined): Promise<ArtifactLabels> {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const createdMs = epoch && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Math.floor((await stat(filePath)).mtimeMs / 1000) * 1000;
  return { created: new Date(createdMs).toISOString().replace('.000Z', 'Z'), version, image, source: sourceUrl(), revision };
}

function sourceUrl(): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo } = process.env;
  return server && repo ? `${server}/${repo}` : undefined;
}
