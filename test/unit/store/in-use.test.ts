import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  collectInUseKeys,
  defaultInUseDir,
  isProcessAlive,
  openInUseRecord,
  parseInUseFileName,
  readInUse,
  removeStaleInUse,
} from '../../../src/store/in-use.js';
import { runPlan } from '../../../src/plan/runner.js';
import type { Step } from '../../../src/plan/step.js';

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ros-in-use-'));
  dir = join(root, 'in-use');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A pid that surely belongs to no running process: one that has just exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('the in-use registry', () => {
  it('records keys as they are added and forgets them on release', () => {
    const record = openInUseRecord({ dir });
    record.add('k1');
    record.add('k2');
    record.add('k1');
    const snapshot = readInUse(dir);
    expect(snapshot.live).toHaveLength(1);
    expect(snapshot.live[0]).toMatchObject({ pid: process.pid, keys: ['k1', 'k2'] });
    expect(collectInUseKeys(snapshot)).toEqual(new Set(['k1', 'k2']));
    record.release();
    record.release();
    expect(readdirSync(dir)).toEqual([]);
    record.add('k3');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives each run of one process a file of its own', () => {
    const a = openInUseRecord({ dir });
    const b = openInUseRecord({ dir });
    a.add('a');
    b.add('b');
    a.release();
    expect(collectInUseKeys(readInUse(dir))).toEqual(new Set(['b']));
    b.release();
  });

  it('treats files of dead processes as stale, and removes them', () => {
    mkdirSync(dir, { recursive: true });
    const pid = deadPid();
    expect(isProcessAlive(pid)).toBe(false);
    writeFileSync(join(dir, `${pid}-0.json`), JSON.stringify({ pid, keys: ['old'] }));
    writeFileSync(join(dir, `.${pid}-1.json.tmp`), '{"pid":');
    writeFileSync(join(dir, `${process.pid}-77.json`), JSON.stringify({ pid: process.pid, keys: ['live'] }));
    writeFileSync(join(dir, 'README'), 'not ours');
    const snapshot = readInUse(dir);
    expect(collectInUseKeys(snapshot)).toEqual(new Set(['live']));
    expect(snapshot.stale.map((f) => f.slice(dir.length + 1)).sort()).toEqual([`${pid}-0.json`, `.${pid}-1.json.tmp`].sort());
    expect(removeStaleInUse(snapshot.stale)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([`${process.pid}-77.json`, 'README']);
  });

  it('reads names it wrote and nothing else', () => {
    expect(parseInUseFileName('123-0.json')).toBe(123);
    expect(parseInUseFileName('.123-4.json.tmp')).toBe(123);
    expect(parseInUseFileName('123.json')).toBeUndefined();
    expect(parseInUseFileName('x-1.json')).toBeUndefined();
  });

  it('a missing directory is an empty registry', () => {
    expect(readInUse(join(root, 'nowhere'))).toEqual({ live: [], stale: [] });
  });

  it('warns once and does not fail the build when it cannot record, also when a symlink sits at the directory', () => {
    writeFileSync(join(root, 'file'), '');
    const warnings: string[] = [];
    const record = openInUseRecord({ dir: join(root, 'file', 'in-use'), warn: (m) => warnings.push(m) });
    record.add('a');
    record.add('b');
    record.release();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot record the cache keys this build uses in .*file\/in-use .*prune/);

    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), dir);
    const planted: string[] = [];
    openInUseRecord({ dir, warn: (m) => planted.push(m) }).add('a');
    expect(planted[0]).toMatch(/is not a directory/);
    expect(readdirSync(join(root, 'elsewhere'))).toEqual([]);
  });
});

describe('runPlan records the keys of a running build', () => {
  const mine = () => readInUse(defaultInUseDir()).live.filter((entry) => entry.pid === process.pid);

  function step(name: string, key: string | undefined, seen: string[][], runKey?: string): Step {
    return {
      name,
      needs: [],
      probe: async () => ({ key, cached: false, summary: name }),
      run: async () => {
        seen.push(mine().flatMap((entry) => entry.keys));
        return { output: name, key: runKey };
      },
    };
  }

  it('each key is on record before its step runs, a key learnt by running is added, and the record goes at the end', async () => {
    const seen: string[][] = [];
    await runPlan({ steps: [step('base', undefined, seen, 'base-key'), step('layer', 'layer-key', seen), step('rootfs', 'rootfs-key', seen)] }, () => {});
    expect(seen).toEqual([[], ['base-key', 'layer-key'], ['base-key', 'layer-key', 'rootfs-key']]);
    expect(mine()).toEqual([]);
  });

  it('also when a step fails', async () => {
    const failing: Step = { name: 'broken', needs: [], probe: async () => ({ key: 'k', cached: false, summary: '' }), run: async () => { throw new Error('boom'); } };
    await expect(runPlan({ steps: [failing] }, () => {})).rejects.toThrow('boom');
    expect(mine()).toEqual([]);
    expect(existsSync(defaultInUseDir())).toBe(true);
  });
});
