import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatSweepReport } from '../../../src/cache/format.js';
import type { EngineImage } from '../../../src/cache/prune.js';
import { sweepCache } from '../../../src/cache/sweep.js';

const MiB = 2 ** 20;
const key = (c: string) => c.repeat(64);
const short = (c: string) => c.repeat(16);
const id = (name: string) => `sha256:${name.padEnd(64, '0')}`;

let root: string;
let cacheDir: string;
let inUseDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ros-sweep-'));
  cacheDir = join(root, 'out', '.cache');
  inUseDir = join(root, 'in-use');
  mkdirSync(inUseDir);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** base ← kept layer K ← obsolete O1 ← obsolete O2 (each a tagged ros-build layer). */
function images(): EngineImage[] {
  const layer = (name: string, parent: string, k: string, size: number): EngineImage => ({
    id: id(name),
    parentId: id(parent),
    tags: [`ros-build/layer-${name}:${short(k)}`],
    labels: { 'io.ros-build.key': key(k) },
    size,
  });
  return [
    { id: id('base'), tags: ['debian:bookworm'], labels: {}, size: 100 * MiB },
    layer('k', 'base', 'a', 150 * MiB),
    layer('o1', 'k', 'b', 160 * MiB),
    layer('o2', 'o1', 'c', 180 * MiB),
  ];
}

/** An engine that answers like dockerd for these images: a tag's removal deletes the image when nothing else holds it. */
function stubEngine(list: EngineImage[], options: { onRemove?: (ref: string) => void; refuse?: string } = {}) {
  const removed: string[] = [];
  const docker = {
    listImages: async () => list.map((i) => ({ Id: i.id, ParentId: i.parentId ?? '', RepoTags: i.tags.length ? i.tags : ['<none>:<none>'], Labels: i.labels, Size: i.size })),
    listContainers: async () => [],
    getImage: (ref: string) => ({
      remove: async () => {
        options.onRemove?.(ref);
        if (ref === options.refuse) throw Object.assign(new Error('(HTTP code 409) unexpected - conflict: image is being used by container 1234'), { statusCode: 409 });
        removed.push(ref);
        const image = list.find((i) => i.tags.includes(ref))!;
        return [{ Untagged: ref }, { Deleted: image.id }];
      },
    }),
  } as unknown as Docker;
  return { docker, removed };
}

function plantDir(kind: string, name: string): string {
  const dir = join(cacheDir, kind, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rootfs.squashfs'), Buffer.alloc(1000));
  return dir;
}

function writeRecords(records: Record<string, string>): void {
  mkdirSync(cacheDir, { recursive: true });
  const full = Object.fromEntries(Object.entries(records).map(([path, k]) => [path, { key: k, size: 1, mtimeMs: 1, sha256: 'x' }]));
  writeFileSync(join(cacheDir, 'outputs.json'), JSON.stringify(full));
}

const readRecords = () => Object.keys(JSON.parse(readFileSync(join(cacheDir, 'outputs.json'), 'utf8')));
const keepA = { kind: 'obsolete' as const, keep: new Set([key('a')]) };

describe('sweepCache', () => {
  it('a dry run removes nothing and tells what would go', async () => {
    const { docker, removed } = stubEngine(images());
    const obsolete = plantDir('rootfs', short('b'));
    writeRecords({ '/out/old.iso': key('b') });
    const report = await sweepCache(docker, { cacheDir, scope: keepA, protectedRefs: [], dryRun: true, inUseDir });
    expect(removed).toEqual([]);
    expect(existsSync(obsolete)).toBe(true);
    expect(readRecords()).toEqual(['/out/old.iso']);
    const text = formatSweepReport(report, root);
    expect(text).toMatch(new RegExp(`^would remove +image +ros-build/layer-o2:${short('c')} +20\\.0 MiB`, 'm'));
    expect(text).toMatch(new RegExp(`^would remove +dir +out/.cache/rootfs/${short('b')} +1000 B`, 'm'));
    expect(text).toMatch(/^would forget +record +\/out\/old\.iso/m);
    expect(text).toMatch(/^would reclaim about 30\.0 MiB \(images 30\.0 MiB, directories 1000 B\)$/m);
  });

  it('removes children first, then directories and records, and removes stale in-use files', async () => {
    const { docker, removed } = stubEngine(images());
    const obsolete = plantDir('rootfs', short('b'));
    const wanted = plantDir('rootfs', short('a'));
    const scratch = plantDir('iso-work', 'partial');
    writeRecords({ '/out/old.iso': key('b'), '/out/new.iso': key('a') });
    const dead = spawnSync('true').pid!;
    writeFileSync(join(inUseDir, `${dead}-0.json`), JSON.stringify({ pid: dead, keys: [key('b')] }));

    const report = await sweepCache(docker, { cacheDir, scope: keepA, protectedRefs: [], dryRun: false, inUseDir });
    expect(removed).toEqual([`ros-build/layer-o2:${short('c')}`, `ros-build/layer-o1:${short('b')}`]);
    expect(existsSync(obsolete)).toBe(false);
    expect(existsSync(wanted)).toBe(true);
    expect(existsSync(scratch)).toBe(true);
    expect(readRecords()).toEqual(['/out/new.iso']);
    expect(existsSync(join(inUseDir, `${dead}-0.json`))).toBe(false);
    expect(report.imageBytes).toBe(30 * MiB);
    expect(formatSweepReport(report, root)).toMatch(/^reclaimed 30\.0 MiB/m);
  });

  it('a build that starts meanwhile keeps what it records before its removal comes', async () => {
    // The first removal call stands for the moment a build registers key b.
    const { docker, removed } = stubEngine(images(), {
      onRemove: () => writeFileSync(join(inUseDir, `${process.pid}-1.json`), JSON.stringify({ pid: process.pid, keys: [key('b')] })),
    });
    const dir = plantDir('rootfs', short('b'));
    const report = await sweepCache(docker, { cacheDir, scope: keepA, protectedRefs: [], dryRun: false, inUseDir });
    expect(removed).toEqual([`ros-build/layer-o2:${short('c')}`]);
    expect(existsSync(dir)).toBe(true);
    expect(report.keptImages.find((k) => k.key === key('b'))?.reason).toBe('in use');
    expect(report.keptDirs.map((d) => d.reason)).toEqual(['in use']);
  });

  it('reports a removal the engine refuses and goes on', async () => {
    const { docker, removed } = stubEngine(images(), { refuse: `ros-build/layer-o2:${short('c')}` });
    const report = await sweepCache(docker, { cacheDir, scope: keepA, protectedRefs: [], dryRun: false, inUseDir });
    expect(removed).toEqual([`ros-build/layer-o1:${short('b')}`]);
    expect(report.refused).toEqual([{ tags: [`ros-build/layer-o2:${short('c')}`], message: 'conflict: image is being used by container 1234' }]);
    expect(formatSweepReport(report, root)).toMatch(/^refused +image +ros-build\/layer-o2:c+ +\(engine: conflict: image is being used by container 1234\)$/m);
  });

  it('--all removes the whole cache directory, but not while a build runs', async () => {
    plantDir('rootfs', short('a'));
    plantDir('overlay-context', 'overlay');
    writeFileSync(join(inUseDir, `${process.pid}-2.json`), JSON.stringify({ pid: process.pid, keys: [] }));
    const { docker } = stubEngine(images());
    const held = await sweepCache(docker, { cacheDir, scope: { kind: 'all' }, protectedRefs: [], dryRun: false, inUseDir });
    expect(held.rest).toMatchObject({ removed: false, heldByBuilds: true });
    expect(existsSync(join(cacheDir, 'overlay-context'))).toBe(true);
    expect(existsSync(join(cacheDir, 'rootfs', short('a')))).toBe(false);

    rmSync(join(inUseDir, `${process.pid}-2.json`));
    const all = await sweepCache(stubEngine(images()).docker, { cacheDir, scope: { kind: 'all' }, protectedRefs: [], dryRun: false, inUseDir });
    expect(all.rest).toMatchObject({ removed: true, heldByBuilds: false });
    expect(existsSync(cacheDir)).toBe(false);
  });
});
