import { execa } from 'execa';
import { chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/outputs/record.js';
import { repoRoot, runCli, testImage } from '../helpers/cli.js';

// Under TCG a boot takes 60–120 s on two cores; allow for a loaded CI machine.
const bootTimeout = '420';
const testTimeoutMs = 900_000;
const BUILDER = 'ros-build:dev';
const epoch = '1700000000';
/** Not root, not this machine's user: what the builder writes must belong to the work directory's owner. */
const CALLER = 4242;

/*
 * The builder image (builder/Dockerfile, `make builder`) on a machine that
 * has only a Docker engine: run with the engine's socket and the work
 * directory alone (no --privileged, no device, --network none), from a
 * directory that holds nothing but a cloud-config, owned by another user.
 * It builds media from an image built FROM the OS image, boots them inside
 * itself under TCG, and makes a raw disk byte-identical to the host's.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-builder-'));
const derived = 'ros-build-test/derived:it';
const cloudConfig = join(work, 'cloud-config.yaml');

function builder(args: string[], options: { mounts?: string[]; env?: Record<string, string>; workdir?: string } = {}) {
  const mounts = options.mounts ?? ['-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${work}:${work}`];
  const env = Object.entries(options.env ?? {}).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
  return execa('docker', ['run', '--rm', '--network', 'none', ...mounts, ...env, '-w', options.workdir ?? work, BUILDER, ...args], { reject: false, all: true, timeout: 1_800_000 });
}

beforeAll(async () => {
  const started = Date.now();
  const made = await execa('make', ['--no-print-directory', 'builder'], { cwd: repoRoot, reject: false, all: true });
  expect(made.exitCode, made.all).toBe(0);
  const size = Number((await execa('docker', ['image', 'inspect', BUILDER, '--format', '{{.Size}}'])).stdout);
  process.stdout.write(`builder image ${BUILDER}: ${(size / 2 ** 20).toFixed(0)} MiB, made in ${((Date.now() - started) / 1000).toFixed(0)} s (make builder)\n`);
  await execa('docker', ['build', '-q', '--build-arg', `BASE=${testImage.repo}:${testImage.tag}`, '-t', derived, join(import.meta.dirname, 'fixtures', 'derived')]);
  copyFileSync(join(import.meta.dirname, 'fixtures', 'cloud-config.yaml'), cloudConfig);
  chownSync(work, CALLER, CALLER);
  chownSync(cloudConfig, CALLER, CALLER);
}, 1_800_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the builder image, with only the socket and the work directory', () => {
  let iso = '';

  it('builds an ISO from a derived image in a directory without os.yaml, with no network and no privileges; what it writes is the caller\'s', async () => {
    const started = Date.now();
    const built = await builder(['iso', '--image', derived, '--cloud-config', cloudConfig]);
    expect(built.exitCode, built.all).toBe(0);
    process.stdout.write(`iso through the builder (cold output directory): ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    expect(built.all).toContain(`ros-build: no os.yaml in ${work}: using ros-build's own spec`);
    iso = built.stdout.trim();
    expect(iso).toBe(join(work, 'build', 'derived-it.iso'));
    for (const path of [iso, join(work, 'build'), join(work, 'build', 'manifest.json')]) expect(statSync(path).uid, path).toBe(CALLER);
  }, testTimeoutMs);

  it('boots that ISO written to a disk, inside the builder under TCG: the derived /etc/issue and the cloud-config hostname at the login prompt', async () => {
    const log = join(work, 'builder-boot.serial.log');
    const booted = await builder(['boot', iso, '--as-disk', '--firmware', 'bios', '--timeout', bootTimeout, '--log', log]);
    expect(booted.exitCode, booted.all).toBe(0);
    const serial = readFileSync(log, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(serial).toContain('DERIVED-IMAGE-MARKER');
    expect(serial).toMatch(/ros-e2e login:/);
  }, testTimeoutMs);

  it('makes a raw disk byte-identical to the one ros-build makes on the host, and a qcow2 that qemu-img checks', async () => {
    const env = { SOURCE_DATE_EPOCH: epoch };
    const built = await builder(['disk', '--image', derived, '--format', 'raw,qcow2', '--cloud-config', cloudConfig, '--output', join(work, 'disk')], { env });
    expect(built.exitCode, built.all).toBe(0);
    const host = mkdtempSync(join(tmpdir(), 'ros-builder-host-'));
    try {
      // The host's run reads the same cloud-config from its own path: only the bytes count.
      copyFileSync(cloudConfig, join(host, 'cloud-config.yaml'));
      const onHost = await runCli(['disk', '--image', derived, '--format', 'raw', '--cloud-config', join(host, 'cloud-config.yaml'), '--output', join(host, 'disk'), '--output-dir', host], { env });
      expect(onHost.exitCode, onHost.stderr).toBe(0);
      expect(await sha256File(join(work, 'disk.raw'))).toBe(await sha256File(onHost.stdout.trim()));
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
    const check = await execa('qemu-img', ['check', join(work, 'disk.qcow2')], { reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
  }, testTimeoutMs);
});

describe('a host without the tools', () => {
  it('`make iso` builds through the builder image by itself, and says so', async () => {
    // A PATH with Node.js, the engine's CLI, make and the shell's utilities, and none of the tools ros-build runs.
    const bin = mkdtempSync(join(tmpdir(), 'ros-builder-path-'));
    try {
      const kept = ['node', 'npm', 'npx', 'docker', 'make', 'sh', 'bash', 'env', 'cmp', 'cp', 'tr', 'sort', 'seq', 'timeout', 'cat', 'id', 'dirname', 'touch', 'mkdir', 'rm', 'find', 'ls', 'grep', 'sed', 'stat', 'head', 'tail', 'basename', 'readlink', 'printf', 'test', 'true', 'wc', 'uname', 'date', 'chmod', 'mv', 'ln', 'tee'];
      for (const name of kept) {
        const found = await execa('sh', ['-c', `command -v ${name}`], { reject: false });
        if (found.exitCode === 0 && found.stdout.startsWith('/')) symlinkSync(found.stdout.trim(), join(bin, name));
      }
      const made = await execa('make', ['--no-print-directory', 'iso', `REPO=${testImage.repo}`, `TAG=${testImage.tag}`], { cwd: repoRoot, env: { PATH: bin }, reject: false, all: true });
      expect(made.exitCode, made.all).toBe(0);
      expect(made.all).toContain('setup: the builder image ros-build:dev is here');
      expect(made.all).toMatch(/ros-build: (tar2sqfs|xorriso)[^\n]* not found on this machine: running `iso` in the builder image ros-build:dev/);
      const iso = made.stdout.trim().split('\n').at(-1)!;
      expect(iso).toMatch(/\.iso$/);
      expect(statSync(iso).size).toBeGreaterThan(100 * 2 ** 20);
      // What the doctor says on such a host: the builder image runs what this PATH lacks.
      const doctor = await execa('node', ['dist/cli.js', 'doctor'], { cwd: repoRoot, env: { PATH: bin }, reject: false, all: true });
      expect(doctor.exitCode, doctor.all).toBe(0);
      expect(doctor.stdout).toMatch(/^builder: ros-build:dev \(sha256:[0-9a-f]{12}\)$/m);
      expect(doctor.stdout).toMatch(/^ {2}tar2sqfs +not here +iso disk netboot$/m);
      expect(doctor.stdout).toMatch(/^ {2}iso +the builder image ros-build:dev \(not here: tar2sqfs, xorriso, grub-mkimage, mcopy\)$/m);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, testTimeoutMs);
});

describe('the builder image, run without what it needs', () => {
  it('without the engine socket: one line naming the -v to add, exit 2', async () => {
    const run = await builder(['iso', '--image', derived], { mounts: ['-v', `${work}:${work}`] });
    expect(run.exitCode).toBe(2);
    expect(run.all).toContain('add -v /var/run/docker.sock:/var/run/docker.sock to docker run');
  }, testTimeoutMs);

  it('with the work directory mounted elsewhere: an error naming the host path, nothing written', async () => {
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    chownSync(elsewhere, CALLER, CALLER);
    const run = await builder(['iso', '--image', derived, '--output-dir', '/src/build'], { mounts: ['-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${elsewhere}:/src`], workdir: '/src' });
    expect(run.exitCode).toBe(2);
    expect(run.all).toContain(`the work directory /src is ${elsewhere} on the host`);
    expect(run.all).toContain('docker run -v "$PWD:$PWD" -w "$PWD"');
    expect(readdirSync(elsewhere)).toEqual([]);
  }, testTimeoutMs);
});
