/**
 * What `ros upgrade` writes on a node, made here on the host from the same
 * registry: the OS image pushed by ros-build to a real docker-registry, pulled
 * by digest, its layers merged and compressed by the node's code. It must hold
 * exactly the files, owners, modes, links and capabilities of the image
 * ros-build itself writes from a container export, with the same kernel and
 * initramfs.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRootfsImages, type RootfsArtifacts } from '../../src/artifacts/squashfs.js';
import { createSystem } from '../../src/node/system.js';
import { resolveUpgrade } from '../../src/node/upgrade/check.js';
import { NODE_COMPRESSION, writeImage } from '../../src/node/upgrade/write-image.js';
import { runCli, testImage } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const REGISTRY_PORT = 5130; // the config e2e's registry: the same image name shares its build cache
const work = mkdtempSync(join(tmpdir(), 'ros-upgrade-image-'));
let registry: TestRegistry;
let image = '';
let built: RootfsArtifacts;
const written = join(work, 'node');
const log: string[] = [];

beforeAll(async () => {
  registry = await startRegistry({ port: REGISTRY_PORT });
  image = `${registry.host}/${testImage.repo}:${testImage.tag}`;
  const flags = ['--repo', `${registry.host}/${testImage.repo}`, '--tag', testImage.tag, '--output-dir', join(work, 'out')];
  const build = await runCli(['build', ...flags]);
  expect(build.exitCode, build.stderr).toBe(0);
  const push = await runCli(['push', '--image-only', ...flags]);
  expect(push.exitCode, push.stderr).toBe(0);
  built = await buildRootfsImages({ docker: new Docker(), image, compression: NODE_COMPRESSION, outDir: work, logPath: join(work, 'build.log'), mtime: 0 });
  const system = { ...createSystem(join(work, 'root')), log: (line: string) => log.push(line) };
  const { client, layers } = await resolveUpgrade(system, { image, allowHttp: false });
  await writeImage(client, layers, written, system.log);
}, 1_800_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

/**
 * Every inode as unsquashfs lists it (numeric owners), without the times (the
 * node stamps its own) and without directory sizes (squashfs's directory
 * index depends on the order entries arrived in: a merge of layers and an
 * export walk the tree differently).
 */
async function listing(squashfs: string): Promise<string[]> {
  const { stdout } = await execa('unsquashfs', ['-lln', '-d', '', squashfs]);
  return stdout
    .split('\n')
    .filter((line) => /^[-dlcbps][rwxsStT-]{9} /.test(line))
    .map((line) => line.replace(/ \d{4}-\d\d-\d\d \d\d:\d\d /, ' ').replace(/^(d\S+ \S+)\s+\d+ /, '$1 - '))
    .sort();
}

async function capabilities(squashfs: string, path: string): Promise<string> {
  const dir = join(work, `caps-${Math.random().toString(36).slice(2)}`);
  await execa('unsquashfs', ['-q', '-n', '-d', dir, squashfs, path]);
  return (await execa('getfattr', ['--absolute-names', '-n', 'security.capability', '-e', 'hex', join(dir, path)], { reject: false })).stdout.split('\n').find((l) => l.startsWith('security.capability')) ?? '';
}

describe('the image ros upgrade writes from registry layers', () => {
  it('holds the same files as the one ros-build writes from an export', async () => {
    const node = await listing(join(written, 'rootfs.squashfs'));
    const builder = await listing(built.squashfsPath);
    expect(node.length).toBeGreaterThan(10_000);
    expect(node.filter((line) => !builder.includes(line))).toEqual([]);
    expect(builder.filter((line) => !node.includes(line))).toEqual([]);
    expect(node.some((line) => line.includes('.wh.'))).toBe(false);
  });

  it('keeps file capabilities (ping needs cap_net_raw as rancher)', async () => {
    const caps = await capabilities(join(written, 'rootfs.squashfs'), 'usr/bin/ping');
    expect(caps).toMatch(/^security\.capability=0x/);
    expect(caps).toBe(await capabilities(built.squashfsPath, 'usr/bin/ping'));
  });

  it('takes the same kernel and initramfs', () => {
    expect(readFileSync(join(written, 'vmlinuz')).equals(readFileSync(built.kernelPath))).toBe(true);
    expect(readFileSync(join(written, 'initrd')).equals(readFileSync(built.initrdPath))).toBe(true);
    expect(log.filter((line) => line.includes('pulling layer')).length).toBeGreaterThan(3);
  });
});
