import { describe, expect, it } from 'vitest';
import {
  createScopeTest,
  decidePrune,
  simulateImageRemoval,
  sumOwnBytes,
  type CacheDir,
  type EngineImage,
  type PruneFacts,
} from '../../../src/cache/prune.js';

const MiB = 2 ** 20;
const key = (c: string) => c.repeat(64);
const short = (c: string) => c.repeat(16);
const id = (name: string) => `sha256:${name.padEnd(64, '0')}`;

/** A classic-builder chain: each layer image sits on an untagged intermediate, on its parent layer. */
function image(name: string, options: { parent?: string; tags?: string[]; key?: string; size: number }): EngineImage {
  return {
    id: id(name),
    parentId: options.parent ? id(options.parent) : undefined,
    tags: options.tags ?? [],
    labels: options.key ? { 'io.ros-build.key': options.key, 'io.ros-build.layer': name } : {},
    size: options.size,
  };
}

/**
 * debian (base, 100 MiB)
 *  └ i1 (RUN, +50) └ base layer A (+0, label)                      ros-build/layer-base:aaaa…
 *      └ i2 (+20) └ framework F (+0)                               ros-build/layer-framework:ffff…
 *          ├ i3 (+30) └ os O1 (+0) └ overlays V1 (+1)   REPO:TAG  rancher/os2:dev + ros-build/overlays:1111…
 *          └ i4 (+40) └ os O2 (+0) └ overlays V2 (+2)   obsolete: an earlier edit of the os layer
 */
function engine(): EngineImage[] {
  return [
    image('debian', { tags: ['debian:bookworm'], size: 100 * MiB }),
    image('i1', { parent: 'debian', size: 150 * MiB }),
    image('a', { parent: 'i1', tags: [`ros-build/layer-base:${short('a')}`], key: key('a'), size: 150 * MiB }),
    image('i2', { parent: 'a', size: 170 * MiB }),
    image('f', { parent: 'i2', tags: [`ros-build/layer-framework:${short('f')}`], key: key('f'), size: 170 * MiB }),
    image('i3', { parent: 'f', size: 200 * MiB }),
    image('o1', { parent: 'i3', tags: [`ros-build/layer-os:${short('1')}`], key: key('1'), size: 200 * MiB }),
    image('v1', { parent: 'o1', tags: ['rancher/os2:dev', `ros-build/overlays:${short('2')}`], key: key('2'), size: 201 * MiB }),
    image('i4', { parent: 'f', size: 210 * MiB }),
    image('o2', { parent: 'i4', tags: [`ros-build/layer-os:${short('3')}`], key: key('3'), size: 210 * MiB }),
    image('v2', { parent: 'o2', tags: [`ros-build/overlays:${short('4')}`], key: key('4'), size: 212 * MiB }),
  ];
}

function facts(overrides: Partial<PruneFacts> = {}): PruneFacts {
  return {
    images: engine(),
    containerImageIds: new Set(),
    cacheDirs: [],
    records: [],
    inUseKeys: new Set(),
    protectedRefs: new Set(['rancher/os2:dev', 'debian:bookworm']),
    ...overrides,
  };
}

const current = new Set([key('a'), key('f'), key('1'), key('2')]);
const removedTags = (decision: ReturnType<typeof decidePrune>) => decision.removeImages.flatMap((r) => r.tags);

describe('which layer images prune removes', () => {
  it('removes the obsolete chain, children first, and keeps what the spec uses', () => {
    const decision = decidePrune(facts(), { kind: 'obsolete', keep: current });
    expect(removedTags(decision)).toEqual([`ros-build/overlays:${short('4')}`, `ros-build/layer-os:${short('3')}`]);
    expect(decision.keepImages.map((k) => [k.tags[0], k.reason])).toEqual([
      [`ros-build/layer-base:${short('a')}`, 'wanted'],
      [`ros-build/layer-framework:${short('f')}`, 'wanted'],
      [`ros-build/layer-os:${short('1')}`, 'wanted'],
      [`ros-build/overlays:${short('2')}`, 'wanted'],
    ]);
    // v2's own 2 MiB, then o2 with its untagged intermediate i4 (40 MiB) down to the kept framework.
    expect(decision.removeImages.map((r) => r.bytes)).toEqual([2 * MiB, 40 * MiB]);
    expect(decision.imageBytes).toBe(42 * MiB);
    expect(decision.removeImages.every((r) => r.goes)).toBe(true);
  });

  it('compares keys by their short form: labels hold full keys, the keep set may hold either', () => {
    const decision = decidePrune(facts(), { kind: 'obsolete', keep: new Set([...current].map((k) => k.slice(0, 16))) });
    expect(removedTags(decision)).toHaveLength(2);
  });

  it('keeps an obsolete tag whose image stays anyway (another tag, a kept child), naming what holds it', () => {
    // Another spec's chain: the same framework, its own os layer and REPO:TAG (ros-build-test/os:it).
    const images = [
      ...engine(),
      image('i5', { parent: 'f', size: 205 * MiB }),
      image('o3', { parent: 'i5', tags: [`ros-build/layer-os:${short('5')}`], key: key('5'), size: 205 * MiB }),
      image('v3', { parent: 'o3', tags: ['ros-build-test/os:it', `ros-build/overlays:${short('6')}`], key: key('6'), size: 206 * MiB }),
    ];
    const decision = decidePrune(facts({ images }), { kind: 'obsolete', keep: current });
    expect(removedTags(decision)).not.toContain(`ros-build/layer-os:${short('5')}`);
    expect(removedTags(decision)).not.toContain(`ros-build/overlays:${short('6')}`);
    const held = decision.keepImages.filter((k) => k.reason === 'held');
    expect(held.map((k) => [k.tags[0], k.heldBy])).toEqual([
      [`ros-build/layer-os:${short('5')}`, 'ros-build-test/os:it'],
      [`ros-build/overlays:${short('6')}`, 'ros-build-test/os:it'],
    ]);
    expect(decision.imageBytes).toBe(42 * MiB);
  });

  it('an obsolete parent goes with its obsolete child', () => {
    // A new framework: the old one (f) and everything on it are obsolete except what REPO:TAG holds.
    const decision = decidePrune(facts(), { kind: 'obsolete', keep: new Set([key('a')]) });
    expect(removedTags(decision)).toEqual([`ros-build/overlays:${short('4')}`, `ros-build/layer-os:${short('3')}`]);
    // f, o1 and v1 stay: rancher/os2:dev is v1, f is its ancestor.
    expect(decision.keepImages.filter((k) => k.reason === 'held').map((k) => k.heldBy)).toEqual(['rancher/os2:dev', 'rancher/os2:dev', 'rancher/os2:dev']);

    const withoutRepoTag = engine().map((i) => (i.id === id('v1') ? { ...i, tags: [`ros-build/overlays:${short('2')}`] } : i));
    const all = decidePrune(facts({ images: withoutRepoTag }), { kind: 'obsolete', keep: new Set([key('a')]) });
    expect(removedTags(all)).toHaveLength(5);
    expect(removedTags(all).at(-1)).toBe(`ros-build/layer-framework:${short('f')}`);
    // Everything above the kept base layer: 201 + 11 (i4..v2 beyond i3's branch) - 150.
    expect(all.imageBytes).toBe((212 - 150 + 201 - 170) * MiB);
  });

  it('never touches an image a container uses, nor images without the label or ros-build/ tag', () => {
    const images = [
      ...engine(),
      image('user', { parent: 'debian', tags: ['ros-build/mine:1'], size: 120 * MiB }),
      image('labelled', { parent: 'debian', tags: ['myorg/tool:1'], key: key('9'), size: 110 * MiB }),
    ];
    const decision = decidePrune(facts({ images, containerImageIds: new Set([id('v2')]) }), { kind: 'all' });
    const tags = removedTags(decision);
    expect(tags).not.toContain('ros-build/mine:1');
    expect(tags).not.toContain('myorg/tool:1');
    expect(tags).not.toContain(`ros-build/overlays:${short('4')}`);
    expect(decision.keepImages.find((k) => k.image.id === id('v2'))?.reason).toBe('container');
  });

  it('keeps what running builds use, in every scope', () => {
    const inUseKeys = new Set([key('4')]);
    for (const scope of [{ kind: 'obsolete', keep: current }, { kind: 'all' }, { kind: 'only', keys: new Set([key('4')]) }] as const) {
      const decision = decidePrune(facts({ inUseKeys }), scope);
      expect(removedTags(decision), scope.kind).not.toContain(`ros-build/overlays:${short('4')}`);
      expect(decision.keepImages.find((k) => k.key === key('4'))?.reason).toBe('in use');
    }
  });

  it('--all removes every cache tag, even on images that stay, but never REPO:TAG itself', () => {
    const images = engine().map((i) => (i.id === id('v1') ? { ...i, tags: ['ros-build/os:dev', `ros-build/overlays:${short('2')}`] } : i));
    const decision = decidePrune(facts({ images, protectedRefs: new Set(['ros-build/os:dev']) }), { kind: 'all' });
    const tags = removedTags(decision);
    expect(tags).toHaveLength(6);
    expect(tags).not.toContain('ros-build/os:dev');
    const v1 = decision.removeImages.find((r) => r.image.id === id('v1'))!;
    expect(v1.goes).toBe(false);
    expect(v1.bytes).toBe(0);
    // The framework stays too (REPO:TAG sits on it); only the obsolete branch and nothing below f is freed.
    expect(decision.imageBytes).toBe(42 * MiB);
  });

  it('a scoped cleanup removes exactly the given keys', () => {
    const decision = decidePrune(facts(), { kind: 'only', keys: new Set([key('3'), key('4')]) });
    expect(removedTags(decision)).toEqual([`ros-build/overlays:${short('4')}`, `ros-build/layer-os:${short('3')}`]);
  });
});

describe('which cache directories and records prune removes', () => {
  const dir = (kind: string, name: string, bytes = 10): CacheDir => ({ kind, key: name, path: `/out/.cache/${kind}/${name}`, bytes });

  it('removes keyed directories of any kind whose key is obsolete; other names are never candidates', () => {
    const cacheDirs = [dir('rootfs', short('1')), dir('rootfs', short('7')), dir('disk', short('8')), dir('iso-work', 'tmp-123'), dir('rootfs', 'notes')];
    const decision = decidePrune(facts({ cacheDirs, inUseKeys: new Set([key('8')]) }), { kind: 'obsolete', keep: current });
    expect(decision.removeDirs.map((d) => d.path)).toEqual([`/out/.cache/rootfs/${short('7')}`]);
    expect(decision.keepDirs.map((d) => [d.kind, d.reason])).toEqual([
      ['rootfs', 'wanted'],
      ['disk', 'in use'],
    ]);
  });

  it('forgets records of obsolete keys only', () => {
    const records = [
      { path: '/out/rancheros-dev.iso', key: key('2') },
      { path: '/out/rancheros-v1.iso', key: key('7') },
    ];
    const decision = decidePrune(facts({ records }), { kind: 'obsolete', keep: current });
    expect(decision.removeRecords).toEqual([records[1]]);
    expect(decision.keepRecords).toEqual([{ ...records[0], reason: 'wanted' }]);
  });
});

describe('simulating the engine', () => {
  it('deletes untagged parents up to the first tagged one, and counts their own layers', () => {
    const { deleted, bytes } = simulateImageRemoval(engine(), new Set(), [`ros-build/overlays:${short('4')}`]);
    expect([...deleted]).toEqual([id('v2')]);
    expect(bytes).toBe(2 * MiB);
    const both = simulateImageRemoval(engine(), new Set(), [`ros-build/overlays:${short('4')}`, `ros-build/layer-os:${short('3')}`]);
    expect([...both.deleted]).toEqual([id('v2'), id('o2'), id('i4')]);
    expect(both.bytes).toBe(42 * MiB);
  });

  it('removing a parent tag first only untags it; the child removal then takes it along', () => {
    const { deleted } = simulateImageRemoval(engine(), new Set(), [`ros-build/layer-os:${short('3')}`, `ros-build/overlays:${short('4')}`]);
    expect([...deleted].sort()).toEqual([id('i4'), id('o2'), id('v2')].sort());
  });

  it('a container keeps its image and so its parents', () => {
    const { deleted } = simulateImageRemoval(engine(), new Set([id('v2')]), [`ros-build/overlays:${short('4')}`, `ros-build/layer-os:${short('3')}`]);
    expect(deleted.size).toBe(0);
  });

  it('sums the own bytes of the images the engine reports deleted, ignoring layer IDs', () => {
    expect(sumOwnBytes(engine(), [id('v2'), id('o2'), id('i4'), 'sha256:layer-chain-id'])).toBe(42 * MiB);
  });
});

describe('scopes', () => {
  it('obsolete: all but the kept keys; all: every key; only: the given keys', () => {
    expect(createScopeTest({ kind: 'obsolete', keep: new Set([key('a')]) })(key('a'))).toBe(false);
    expect(createScopeTest({ kind: 'obsolete', keep: new Set([key('a')]) })(short('b'))).toBe(true);
    expect(createScopeTest({ kind: 'all' })(key('a'))).toBe(true);
    expect(createScopeTest({ kind: 'only', keys: new Set([key('a')]) })(short('a'))).toBe(true);
    expect(createScopeTest({ kind: 'only', keys: new Set([key('a')]) })(key('b'))).toBe(false);
  });
});
