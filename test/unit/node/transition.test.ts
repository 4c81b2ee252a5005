import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanInterruptedUpgrade, promoteTransition } from '../../../src/node/slots/transition.js';

let partition: string;
const dir = (name: string) => join(partition, 'cOS', name);
const content = (name: string) => (existsSync(dir(name)) ? readFileSync(join(dir(name), 'rootfs.squashfs'), 'utf8') : 'missing');
const slots = () => ({ active: content('active'), passive: content('passive'), recovery: content('recovery'), transition: content('transition') });

function makeSlot(name: string, text: string): void {
  mkdirSync(dir(name), { recursive: true });
  writeFileSync(join(dir(name), 'rootfs.squashfs'), text);
}

beforeEach(() => {
  partition = mkdtempSync(join(tmpdir(), 'ros-transition-'));
  makeSlot('active', 'v2');
  makeSlot('passive', 'v1');
  makeSlot('recovery', 'r1');
  makeSlot('transition', 'v3');
});
afterEach(() => rmSync(partition, { recursive: true, force: true }));

describe('promoteTransition', () => {
  it('makes the new image active and the running active image passive', async () => {
    await promoteTransition(partition, 'active', 'active');
    expect(slots()).toEqual({ active: 'v3', passive: 'v2', recovery: 'r1', transition: 'missing' });
  });

  it('keeps the running passive image (after a fallback) as the one to come back to', async () => {
    await promoteTransition(partition, 'active', 'passive');
    expect(slots()).toEqual({ active: 'v3', passive: 'v1', recovery: 'r1', transition: 'missing' });
  });

  it('run from recovery, puts the new image in both active and passive (both may be broken), nothing left over', async () => {
    await promoteTransition(partition, 'active', 'recovery');
    expect(slots()).toEqual({ active: 'v3', passive: 'v3', recovery: 'r1', transition: 'missing' });
    expect(existsSync(dir('.linked'))).toBe(false);
  });

  it('replaces the recovery image and leaves nothing parked', async () => {
    await promoteTransition(partition, 'recovery', 'active');
    expect(slots()).toEqual({ active: 'v2', passive: 'v1', recovery: 'v3', transition: 'missing' });
    expect(existsSync(dir('.previous'))).toBe(false);
  });
});

describe('cleanInterruptedUpgrade', () => {
  // The states a power cut can leave, each step of promoteTransition done or not.
  it('drops a transition image written but not yet moved', async () => {
    expect(await cleanInterruptedUpgrade(partition)).toHaveLength(1);
    expect(slots()).toEqual({ active: 'v2', passive: 'v1', recovery: 'r1', transition: 'missing' });
  });

  it('puts active back when the cut came between its two renames', async () => {
    rmSync(dir('passive'), { recursive: true });
    renameSync(dir('active'), dir('passive'));
    await cleanInterruptedUpgrade(partition);
    expect(slots()).toEqual({ active: 'v2', passive: 'missing', recovery: 'r1', transition: 'missing' });
  });

  it('never leaves half a slot when the cut came while an image was being deleted', async () => {
    // Running passive after a fallback: active is dropped (moved aside whole, then deleted).
    renameSync(dir('active'), dir('.dropped'));
    await cleanInterruptedUpgrade(partition);
    expect(slots()).toEqual({ active: 'v1', passive: 'missing', recovery: 'r1', transition: 'missing' });
    expect(existsSync(dir('.dropped'))).toBe(false);
  });

  it('puts the parked recovery image back', async () => {
    renameSync(dir('recovery'), dir('.previous'));
    await cleanInterruptedUpgrade(partition);
    expect(slots()).toEqual({ active: 'v2', passive: 'v1', recovery: 'r1', transition: 'missing' });
  });

  it('does nothing after a finished upgrade', async () => {
    await promoteTransition(partition, 'active', 'active');
    expect(await cleanInterruptedUpgrade(partition)).toEqual([]);
    expect(slots()).toEqual({ active: 'v3', passive: 'v2', recovery: 'r1', transition: 'missing' });
  });
});
