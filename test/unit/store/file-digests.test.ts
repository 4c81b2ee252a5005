import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFileDigests } from '../../../src/store/file-digests.js';
import { hashContext } from '../../../src/docker/context.js';
import { scratchDirs } from '../../helpers/scratch.js';

const scratch = scratchDirs();
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const later = () => BigInt(Date.now() + 60_000) * 1_000_000n; // every file's ctime looks settled

describe('remembered file digests', () => {
  it('remembers a settled file by its identity and rehashes it once it is written again', async () => {
    const dir = scratch('ros-digests-');
    const file = join(dir, 'node');
    const store = join(dir, 'cache', 'file-digests.json');
    writeFileSync(file, 'one');
    const first = await openFileDigests(store, later);
    expect(await first.digestOf(file)).toBe(sha256('one'));
    await first.save();
    // Prove the second run answers from the store: give the remembered entry a digest only the store has.
    const saved = JSON.parse(readFileSync(store, 'utf8'));
    saved[file].sha256 = 'from-the-store';
    writeFileSync(store, JSON.stringify(saved));
    expect(await (await openFileDigests(store, later)).digestOf(file)).toBe('from-the-store');
    writeFileSync(file, 'two'); // same size, new ctime
    expect(await (await openFileDigests(store, later)).digestOf(file)).toBe(sha256('two'));
  });

  it('does not remember a file written within the last seconds, and forgets files that are gone', async () => {
    const dir = scratch('ros-digests-');
    const store = join(dir, 'file-digests.json');
    writeFileSync(join(dir, 'fresh'), 'x');
    const digests = await openFileDigests(store);
    await digests.digestOf(join(dir, 'fresh'));
    await digests.save();
    expect(existsSync(store)).toBe(false);
    writeFileSync(store, JSON.stringify({ [join(dir, 'gone')]: { identity: '1', sha256: 'x' } }));
    const again = await openFileDigests(store, later);
    await again.digestOf(join(dir, 'fresh'));
    await again.save();
    expect(Object.keys(JSON.parse(readFileSync(store, 'utf8')))).toEqual([join(dir, 'fresh')]);
  });
});

describe('build context hash', () => {
  it('covers a large file by its content, with remembered digests or without', async () => {
    const context = scratch('ros-context-');
    mkdirSync(join(context, 'usr/lib/ros'), { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\n');
    const big = join(context, 'usr/lib/ros/node');
    writeFileSync(big, Buffer.alloc(3 * 2 ** 20, 1));
    const store = join(scratch('ros-digests-'), 'file-digests.json');
    const plain = await hashContext(context);
    const remembered = await openFileDigests(store, later);
    const first = await hashContext(context, remembered);
    await remembered.save();
    const second = await hashContext(context, await openFileDigests(store, later));
    expect(first).toEqual(plain);
    expect(second).toEqual(plain);
    expect(plain.files).toEqual(['Dockerfile', 'usr/lib/ros/node']);
    const changed = Buffer.alloc(3 * 2 ** 20, 1);
    changed[2 ** 20] = 2;
    writeFileSync(big, changed);
    expect((await hashContext(context, await openFileDigests(store, later))).hash).not.toBe(plain.hash);
  });
});
