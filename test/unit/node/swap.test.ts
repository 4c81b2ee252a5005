import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { completeSwap, swapSlots } from '../../../src/node/slots/swap.js';

let state: string;
const slot = (name: string) => join(state, 'cOS', name);
const content = (name: string) => readFileSync(join(slot(name), 'rootfs.squashfs'), 'utf8');

beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'ros-swap-'));
  for (const name of ['active', 'passive']) {
    mkdirSync(slot(name), { recursive: true });
    writeFileSync(join(slot(name), 'rootfs.squashfs'), `was ${name}`);
  }
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

describe('swapSlots', () => {
  it('exchanges the two directories and leaves no intent behind', async () => {
    await swapSlots(state, 'active', 'passive');
    expect([content('active'), content('passive')]).toEqual(['was passive', 'was active']);
    expect(existsSync(join(state, 'cOS/.swap.json'))).toBe(false);
    expect(await completeSwap(state)).toBe(false);
  });

  // A power cut after each step: the intent and whatever renames were done.
  it.each([0, 1, 2, 3])('finishes a swap cut after %i of its three renames', async (done) => {
    const a = slot('active');
    const b = slot('passive');
    const parked = join(state, 'cOS/.swap');
    writeFileSync(join(state, 'cOS/.swap.json'), JSON.stringify({ a: 'active', b: 'passive', inodeA: statSync(a).ino, inodeB: statSync(b).ino }));
    const steps = [() => renameSync(a, parked), () => renameSync(b, a), () => renameSync(parked, b)];
    for (const step of steps.slice(0, done)) step();
    expect(await completeSwap(state)).toBe(true);
    expect([content('active'), content('passive')]).toEqual(['was passive', 'was active']);
    expect(existsSync(parked)).toBe(false);
    expect(existsSync(join(state, 'cOS/.swap.json'))).toBe(false);
  });
});
