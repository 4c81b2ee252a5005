import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatherConfig } from '../../../src/node/config-sources.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ros-config-sources-'));
  mkdirSync(join(root, 'oem'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('a join token in the configuration', () => {
  const write = (mode: number) => {
    const file = join(root, 'oem/90-cluster.yaml');
    writeFileSync(file, '#cloud-config\nros:\n  token: K10secret::server:abc\n');
    chmodSync(file, mode);
    return file;
  };

  it('in a file every user can read: a warning naming the file and the chmod, and the token still used', async () => {
    const file = write(0o644);
    const { sources, merged } = await gatherConfig(root);
    const problems = sources.flatMap((source) => source.problems);
    expect(problems).toEqual([{ source: file, path: 'ros.token', severity: 'warning', message: `holds the cluster's join token, and every user of this node can read the file: chmod 600 ${file}` }]);
    expect(merged.ros?.token).toBe('K10secret::server:abc');
    expect(JSON.stringify(problems)).not.toContain('K10secret');
  });

  it('in a file only root reads: nothing to say', async () => {
    write(0o600);
    const { sources } = await gatherConfig(root);
    expect(sources.flatMap((source) => source.problems)).toEqual([]);
  });
});
