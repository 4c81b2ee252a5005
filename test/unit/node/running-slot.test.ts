import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BootState } from '../../../src/node/boot-state.js';
import { readRunningSlot, recordRunningSlot } from '../../../src/node/slots/running-slot.js';

const root = mkdtempSync(join(tmpdir(), 'ros-running-slot-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const booted = (slot: BootState['slot']): BootState => ({ slot, fallback: false, failed: [] });

describe('where the running image is', () => {
  it('is the slot it booted from until a rollback or an upgrade moves it, and a live boot has none', async () => {
    expect(await readRunningSlot(root, booted('active'))).toBe('active');
    expect(await readRunningSlot(root, booted(undefined))).toBeUndefined();
    // ros rollback without a reboot: the running image's directory is passive now; a second rollback brings it back.
    await recordRunningSlot(root, 'passive');
    expect(await readRunningSlot(root, booted('active'))).toBe('passive');
    await recordRunningSlot(root, 'active');
    expect(await readRunningSlot(root, booted('active'))).toBe('active');
  });
});
