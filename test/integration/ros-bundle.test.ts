/**
 * The node's `ros` as the image carries it: bundled by tools/bundle-ros.mjs.
 * ros-upgrade.cjs (the registry client and the verifier, loaded by `ros
 * upgrade` and by `ros install --image`) must load in plain CommonJS: a
 * builder module that reached it through a shared import once made every
 * `ros.install.image` fail with "Invalid URL" (its import.meta.url is
 * undefined there), which no unit test saw.
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const out = mkdtempSync(join(tmpdir(), 'ros-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the ros bundle', () => {
  it('loads ros-upgrade.cjs, with the install and upgrade entry points it exports', async () => {
    await execa('node', ['tools/bundle-ros.mjs', join(out, 'ros.cjs')], { cwd: repoRoot });
    const { stdout } = await execa('node', ['-e', `const m = require(${JSON.stringify(join(out, 'ros-upgrade.cjs'))}); console.log(['resolveUpgrade', 'writeImage', 'upgradeSystem'].filter((name) => typeof m[name] === 'function').join(' '))`]);
    expect(stdout).toBe('resolveUpgrade writeImage upgradeSystem');
  }, 120_000);
});
