import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { ResolvedSpec } from '../spec/types.js';

/** What every step may use: the engine, the spec and where files go. */
export interface BuildEnv {
  docker: Docker;
  spec: ResolvedSpec;
  outputDir: string;
  cacheDir: string;
  logDir: string;
  /** SOURCE_DATE_EPOCH when set (then part of cache keys), else the current time. */
  epoch: number;
  epochFromEnv: boolean;
}

export function createBuildEnv(docker: Docker, spec: ResolvedSpec): BuildEnv {
  const outputDir = spec.outputDir;
  const cacheDir = join(outputDir, '.cache');
  const logDir = join(outputDir, 'logs');
  for (const dir of [outputDir, cacheDir, logDir]) mkdirSync(dir, { recursive: true });
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  const epoch = fromEnv && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Math.floor(Date.now() / 1000);
  return { docker, spec, outputDir, cacheDir, logDir, epoch, epochFromEnv: Boolean(fromEnv) };
}

export function logPathFor(env: BuildEnv, step: string): string {
  return join(env.logDir, `${step.replace(/[^A-Za-z0-9_.-]+/g, '-')}.log`);
}
