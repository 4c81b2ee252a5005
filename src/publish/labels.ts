import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import type { ArtifactLabels } from './artifact.js';

/**
 * Labels that stay the same when the same build is pushed again, so a rerun
 * yields the same manifest digest: the creation time is SOURCE_DATE_EPOCH or
 * the file's modification time, never "now".
 */
export async function describeArtifact(filePath: string, version: string, image: string, specDir: string): Promise<ArtifactLabels> {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const createdMs = epoch && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Math.floor((await stat(filePath)).mtimeMs / 1000) * 1000;
  return { created: new Date(createdMs).toISOString().replace('.000Z', 'Z'), version, image, source: sourceUrl(), revision: await gitRevision(specDir) };
}

function sourceUrl(): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo } = process.env;
  return server && repo ? `${server}/${repo}` : undefined;
}

async function gitRevision(dir: string): Promise<string | undefined> {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  const result = await execa('git', ['rev-parse', 'HEAD'], { cwd: dir, reject: false });
  return result.failed ? undefined : String(result.stdout).trim() || undefined;
}
