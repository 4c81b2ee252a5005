/**
 * `ros-build prune` against the real engine and the test spec's output
 * directory: obsolete layer images and cache directories planted beside the
 * test spec's own go; the spec's layers, rootfs and ISO record stay (the next
 * `iso` is a no-op), and so does what a running build or a container uses.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInUseDir } from '../../src/store/in-use.js';
import { runCli, specFlags, testImage, testOutputDir } from '../helpers/cli.js';

const cacheDir = join(testOutputDir, '.cache');
const repoTag = `${testImage.repo}:${testImage.tag}`;
const newKey = () => randomBytes(32).toString('hex');
const short = (key: string) => key.slice(0, 16);

/** Keys no spec uses, each for one planted thing. */
const keys = { obsolete: newKey(), inUse: newKey(), staleUse: newKey(), container: newKey(), obsoleteDir: newKey() };
const planted = (key: string) => `ros-build/layer-prune-it:${short(key)}`;

const work = mkdtempSync(join(tmpdir(), 'ros-prune-it-'));
const inUseFile = join(defaultInUseDir(), `${process.pid}-999999.json`);
let staleFile: string;
let containerId: string;
let steps: Array<{ step: string; probe: { key?: string; summary: string } }>;

async function imageExists(ref: string): Promise<boolean> {
  return (await execa('docker', ['image', 'inspect', ref], { reject: false })).exitCode === 0;
}

/** A small image with a layer of its own (FROM scratch, one file), labelled as ros-build labels its layers. */
async function plantImage(key: string): Promise<void> {
  const context = join(work, key);
  mkdirSync(context);
  writeFileSync(join(context, 'stale'), randomBytes(256 * 1024));
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY stale /stale\n');
  await execa('docker', ['build', '--quiet', '--label', `io.ros-build.key=${key}`, '--tag', planted(key), context]);
}

function plantDir(kind: string, key: string): string {
  const dir = join(cacheDir, kind, short(key));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rootfs.squashfs'), randomBytes(512 * 1024));
  return dir;
}

function readRecords(): Record<string, { key: string }> {
  return JSON.parse(readFileSync(join(cacheDir, 'outputs.json'), 'utf8'));
}

beforeAll(async () => {
  // The test image and ISO the other integration tests build; cached when they ran before.
  const iso = await runCli(['iso', ...specFlags()]);
  expect(iso.exitCode, iso.stderr).toBe(0);
  const plan = await runCli(['plan', '--json', ...specFlags()]);
  expect(plan.exitCode, plan.stderr).toBe(0);
  steps = JSON.parse(plan.stdout).steps;

  for (const key of [keys.obsolete, keys.inUse, keys.staleUse, keys.container]) await plantImage(key);
  containerId = (await execa('docker', ['create', planted(keys.container), '/nothing'])).stdout.trim();
  plantDir('rootfs', keys.obsoleteDir);
  plantDir('prune-it', keys.obsolete);
  plantDir('rootfs', keys.inUse);
  const records = readRecords();
  records['/nowhere/old.iso'] = { ...Object.values(records)[0]!, key: keys.obsoleteDir };
  writeFileSync(join(cacheDir, 'outputs.json'), JSON.stringify(records, null, 2));

  mkdirSync(defaultInUseDir(), { recursive: true });
  writeFileSync(inUseFile, JSON.stringify({ pid: process.pid, keys: [keys.inUse] }));
  const dead = spawnSync('true').pid!;
  staleFile = join(defaultInUseDir(), `${dead}-0.json`);
  writeFileSync(staleFile, JSON.stringify({ pid: dead, keys: [keys.staleUse] }));
});

afterAll(async () => {
  rmSync(inUseFile, { force: true });
  rmSync(staleFile, { force: true });
  if (containerId) await execa('docker', ['rm', containerId], { reject: false });
  await execa('docker', ['rmi', ...Object.values(keys).map(planted)], { reject: false });
  for (const [kind, key] of [['rootfs', keys.inUse], ['rootfs', keys.obsoleteDir], ['prune-it', keys.obsolete]] as const) {
    rmSync(join(cacheDir, kind, short(key)), { recursive: true, force: true });
  }
  rmSync(join(cacheDir, 'prune-it'), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('ros-build prune', () => {
  it('--dry-run lists what would go and removes nothing', async () => {
    const result = await runCli(['prune', '--dry-run', ...specFlags()]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^would remove +image +${planted(keys.obsolete)} `, 'm'));
    expect(result.stdout).toContain(`rootfs/${short(keys.obsoleteDir)}`);
    expect(result.stdout).toMatch(/^would reclaim about /m);
    expect(await imageExists(planted(keys.obsolete))).toBe(true);
    expect(existsSync(join(cacheDir, 'rootfs', short(keys.obsoleteDir)))).toBe(true);
    expect(existsSync(staleFile)).toBe(true);
  });

  it('removes obsolete layer images, cache directories and records; keeps the spec\'s, the running build\'s and the container\'s', async () => {
    const result = await runCli(['prune', ...specFlags()]);
    expect(result.exitCode, result.stderr).toBe(0);
    console.info(result.stdout);
    expect(result.stdout).toMatch(new RegExp(`^removed +image +${planted(keys.obsolete)} +\\d`, 'm'));
    expect(result.stdout).toMatch(/^reclaimed \d/m);

    expect(await imageExists(planted(keys.obsolete))).toBe(false);
    expect(await imageExists(planted(keys.staleUse))).toBe(false);
    expect(existsSync(staleFile)).toBe(false);
    expect(await imageExists(planted(keys.inUse))).toBe(true);
    expect(await imageExists(planted(keys.container))).toBe(true);

    expect(existsSync(join(cacheDir, 'rootfs', short(keys.obsoleteDir)))).toBe(false);
    expect(existsSync(join(cacheDir, 'prune-it', short(keys.obsolete)))).toBe(false);
    expect(existsSync(join(cacheDir, 'rootfs', short(keys.inUse)))).toBe(true);
    expect(readRecords()['/nowhere/old.iso']).toBeUndefined();

    // The spec's own: REPO:TAG, every layer image, the rootfs directory, the ISO's record.
    expect(await imageExists(repoTag)).toBe(true);
    const layerRefs = steps.flatMap((s) => /-> (ros-build\/\S+)$/.exec(s.probe.summary)?.[1] ?? []);
    expect(layerRefs.length).toBeGreaterThanOrEqual(3);
    for (const ref of layerRefs) expect(await imageExists(ref), ref).toBe(true);
    const rootfsKey = steps.find((s) => s.step === 'rootfs')!.probe.key!;
    expect(existsSync(join(cacheDir, 'rootfs', short(rootfsKey), 'rootfs.squashfs'))).toBe(true);
    const isoKey = steps.find((s) => s.step === 'iso')!.probe.key!;
    expect(Object.values(readRecords()).map((r) => r.key)).toContain(isoKey);
  });

  it('leaves the next iso with the same flags nothing to do', async () => {
    const again = await runCli(['iso', ...specFlags()]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/: built in/);
    for (const { step } of steps) expect(again.stderr).toMatch(new RegExp(`\\] ${step}: cached in`));
  });

  it('no engine: the usual clear message', async () => {
    const result = await runCli(['prune', ...specFlags()], { env: { DOCKER_HOST: 'unix:///tmp/ros-build-no-engine.sock' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('no Docker engine answers at unix:///tmp/ros-build-no-engine.sock');
    expect(result.stderr).toContain('make setup');
  });
});
