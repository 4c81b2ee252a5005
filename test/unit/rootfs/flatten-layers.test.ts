import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flattenLayers, type LayerSource } from '../../../src/rootfs/flatten-layers.js';

const work = mkdtempSync(join(tmpdir(), 'ros-flatten-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One layer as docker writes it: a tar of the layer's changes, whiteouts as .wh. files. */
function makeLayer(name: string, build: (root: string) => void): LayerSource {
  const root = join(work, name);
  mkdirSync(root);
  build(root);
  const tar = join(work, `${name}.tar`);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '--sort=name', '-C', root, '-cf', tar, '.']);
  return { name, open: async () => createReadStream(tar, { highWaterMark: 1000 }) };
}

function file(root: string, path: string, content: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), content);
}

async function flatten(name: string, layersTopFirst: LayerSource[]) {
  const tar = join(work, `${name}-merged.tar`);
  const output = createWriteStream(tar);
  const closed = once(output, 'close');
  const stats = await flattenLayers(layersTopFirst, output);
  await closed;
  const out = join(work, `${name}-out`);
  mkdirSync(out);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', out, '-xpf', tar]);
  const listing = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return { out, stats, listing };
}

describe('flattenLayers', () => {
  it('merges layers as an overlay mount shows them: replaced, deleted, opaque and type-changed paths', async () => {
    const bottom = makeLayer('bottom', (root) => {
      file(root, 'etc/a', 'a1');
      file(root, 'etc/b', 'b1');
      file(root, 'keep/x', 'x');
      file(root, 'opq/old', 'old');
      file(root, 'gone/g', 'g');
      file(root, 'replaced/c', 'c');
      file(root, 'usr/bin/perl', 'perl binary');
      linkSync(join(root, 'usr/bin/perl'), join(root, 'usr/bin/perl5'));
      file(root, 'usr/bin/xattr', 'with xattr');
      execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.ros", b"kept")', join(root, 'usr/bin/xattr')]);
    });
    const middle = makeLayer('middle', (root) => {
      file(root, 'etc/a', 'a2');
      file(root, 'etc/.wh.b', '');
      file(root, 'opq/.wh..wh..opq', '');
      file(root, 'opq/new', 'new');
      file(root, '.wh.gone', '');
      file(root, 'usr/bin/.wh.perl', '');
      symlinkSync('keep', join(root, 'replaced'));
    });
    const top = makeLayer('top', (root) => file(root, 'etc/c', 'c3'));
    const { out, stats, listing } = await flatten('merge', [top, middle, bottom]);

    expect(readFileSync(join(out, 'etc/a'), 'utf8')).toBe('a2');
    expect(existsSync(join(out, 'etc/b'))).toBe(false);
    expect(readFileSync(join(out, 'etc/c'), 'utf8')).toBe('c3');
    expect(readFileSync(join(out, 'keep/x'), 'utf8')).toBe('x');
    expect(readdirSync(join(out, 'opq'))).toEqual(['new']);
    expect(existsSync(join(out, 'gone'))).toBe(false);
    expect(lstatSync(join(out, 'replaced')).isSymbolicLink()).toBe(true);
    // The link outlives its deleted target, with the target's content.
    expect(existsSync(join(out, 'usr/bin/perl'))).toBe(false);
    expect(readFileSync(join(out, 'usr/bin/perl5'), 'utf8')).toBe('perl binary');
    const xattr = execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.ros").decode())', join(out, 'usr/bin/xattr')], { encoding: 'utf8' });
    expect(xattr.trim()).toBe('kept');
    // Every path once, and no whiteout markers.
    const paths = listing.map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.filter((p) => p.includes('.wh.'))).toEqual([]);
    expect(stats.hidden).toBeGreaterThan(0);
  });

  it('keeps hard links that stay within one layer as links', async () => {
    const layer = makeLayer('links', (root) => {
      file(root, 'bin/a', 'same');
      linkSync(join(root, 'bin/a'), join(root, 'bin/b'));
    });
    const { out } = await flatten('links', [layer]);
    expect(lstatSync(join(out, 'bin/a')).ino).toBe(lstatSync(join(out, 'bin/b')).ino);
  });

  it('fails on a truncated layer instead of writing a partial tree', async () => {
    const whole = join(work, 'whole.tar');
    execFileSync('dd', ['if=/dev/urandom', `of=${join(work, 'big')}`, 'bs=1k', 'count=64', 'status=none']);
    execFileSync('tar', ['-C', work, '-cf', whole, 'big']);
    const cut = join(work, 'cut.tar');
    writeFileSync(cut, readFileSync(whole).subarray(0, 10_000));
    await expect(flattenLayers([{ name: 'cut', open: async () => createReadStream(cut) }], createWriteStream(join(work, 'cut-out.tar')))).rejects.toThrow(/truncated/);
  });
});
