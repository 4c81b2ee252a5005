import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SLOTS_LOCK, withSlotsLock } from '../../../src/node/slots/lock.js';
import type { NodeSystem } from '../../../src/node/system.js';
import { scratchDirs } from '../../helpers/scratch.js';

const scratch = scratchDirs();
const systemAt = (root: string): NodeSystem => ({ root, run: async () => ({ code: 0, output: '' }), log: () => {} });
const startOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

function lockedBy(holder: { pid: number; started: string }): string {
  const root = scratch('ros-lock-');
  mkdirSync(join(root, 'run/ros'), { recursive: true });
  writeFileSync(join(root, SLOTS_LOCK), JSON.stringify({ ...holder, command: 'upgrade', at: '2026-12-05T02:00:00.000Z' }));
  return root;
}

const sleeper = spawn('sleep', ['600']);
afterAll(() => sleeper.kill());

describe('the boot slots lock', () => {
  it('is held while the change runs and gone after it, also when the change fails', async () => {
    const root = scratch('ros-lock-');
    const seen = await withSlotsLock(systemAt(root), 'rollback', async () => JSON.parse(readFileSync(join(root, SLOTS_LOCK), 'utf8')));
    expect(seen).toMatchObject({ pid: process.pid, command: 'rollback' });
    await expect(withSlotsLock(systemAt(root), 'upgrade', async () => Promise.reject(new Error('no room')))).rejects.toThrow('no room');
    expect(readdirSync(join(root, 'run/ros'))).toEqual([]);
  });

  it('refuses while another running ros holds it, naming it, and leaves its lock alone', async () => {
    const root = lockedBy({ pid: sleeper.pid!, started: startOf(sleeper.pid!) });
    let ran = false;
    await expect(withSlotsLock(systemAt(root), 'rollback', async () => (ran = true))).rejects.toThrow(
      `another ros upgrade (pid ${sleeper.pid}, since 2026-12-05T02:00:00.000Z) is changing the boot slots: wait until it ends, then run this again`,
    );
    expect(ran).toBe(false);
    expect(JSON.parse(readFileSync(join(root, SLOTS_LOCK), 'utf8')).pid).toBe(sleeper.pid);
    expect(readdirSync(join(root, 'run/ros'))).toEqual(['slots.lock']);
  });

  it('takes over a lock whose holder died, or whose pid now belongs to another process', async () => {
    const dead = spawnSync('true').pid;
    for (const root of [lockedBy({ pid: dead, started: '1' }), lockedBy({ pid: sleeper.pid!, started: '1' })]) {
      expect(await withSlotsLock(systemAt(root), 'upgrade', async () => 'done')).toBe('done');
      expect(existsSync(join(root, SLOTS_LOCK))).toBe(false);
    }
  });

  it('takes over a lock file left half-written', async () => {
    const root = scratch('ros-lock-');
    mkdirSync(join(root, 'run/ros'), { recursive: true });
    writeFileSync(join(root, SLOTS_LOCK), '{"pid":');
    expect(await withSlotsLock(systemAt(root), 'upgrade', async () => 'done')).toBe('done');
  });
});
