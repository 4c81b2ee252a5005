import { execa } from 'execa';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listContainers, runCli, specFlags, testImage } from '../helpers/cli.js';

const ref = `${testImage.repo}:${testImage.tag}`;

describe('building the layered OS image with a real engine', () => {
  let first: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    first = await runCli(['build', ...specFlags()]);
  });

  it('builds base → framework → os → overlays and tags a runnable image', async () => {
    expect(first.stderr).not.toMatch(/error:/);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(ref);
    const { stdout } = await execa('docker', ['run', '--rm', ref, 'cat', '/etc/os-release', '/usr/lib/ros-release']);
    expect(stdout).toContain('NAME="RancherOS"');
    expect(stdout).toContain(`IMAGE_TAG=${testImage.tag}`);
    expect(stdout).toContain(`IMAGE=${ref}`);
  });

  it('bakes in no credentials: no SSH host keys, root password locked', async () => {
    const { stdout } = await execa('docker', ['run', '--rm', ref, 'sh', '-c', 'ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l; passwd -S root; cat /etc/machine-id | wc -c']);
    const [keys, status, machineId] = stdout.split('\n');
    expect(keys).toBe('0');
    expect(status).toMatch(/^root L /);
    expect(machineId).toBe('0');
  });

  it('carries the overlay files and a live initramfs', async () => {
    const { stdout } = await execa('docker', ['run', '--rm', ref, 'sh', '-c', 'cat /etc/motd; lsinitrd /boot/initrd.img-* | grep -c dmsquash']);
    expect(stdout).toContain('image-based OS');
    expect(Number(stdout.trim().split('\n').at(-1))).toBeGreaterThan(0);
  });

  it('rebuilds nothing when nothing changed, and says so in the plan', async () => {
    const started = Date.now();
    const again = await runCli(['build', ...specFlags()]);
    expect(again.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(again.stderr).not.toMatch(/: built in/);
    const plan = await runCli(['plan', 'build', ...specFlags()]);
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toMatch(/^cached +\w+ +layer os /m);
    expect(plan.stdout).not.toMatch(/^build /m);
  });
});

/** Scratch spec directories (each with its build/ output), removed after the tests. */
const scratchDirs: string[] = [];
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** A scratch spec with one layer on the bootstrapped Debian image. */
function scratchSpec(dockerfile: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'ros-spec-'));
  scratchDirs.push(dir);
  mkdirSync(join(dir, 'layer'));
  writeFileSync(join(dir, 'layer', 'Dockerfile'), dockerfile);
  writeFileSync(
    join(dir, 'os.yaml'),
    `image: { repository: ros-build-test/scratch, tag: it }
profile: debian
profiles:
  debian:
    base: { image: debian:bookworm }
    layers:
      - { name: only, context: layer }
${extra}`,
  );
  return join(dir, 'os.yaml');
}

describe('what bad input gets', () => {
  it('a failing RUN: the instruction, the last lines of its output, the log path, non-zero exit, no stray container', async () => {
    const before = await listContainers();
    const spec = scratchSpec('ARG PARENT_IMAGE\nFROM ${PARENT_IMAGE}\nRUN echo preparing && echo "the-visible-cause" >&2 && exit 3\n');
    const result = await runCli(['build', '--spec', spec]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('step "layer only" failed');
    expect(result.stderr).toMatch(/Step 3\/\d+ : RUN echo preparing/);
    expect(result.stderr).toContain('the-visible-cause');
    expect(result.stderr).toMatch(/returned a non-zero code: 3/);
    const log = /full log: (\S+)/.exec(result.stderr)?.[1];
    expect(log && existsSync(log)).toBe(true);
    expect(readFileSync(log!, 'utf8')).toContain('the-visible-cause');
    expect(await listContainers()).toEqual(before);
  });

  it('an unknown key in os.yaml: named with its path, exit 2', async () => {
    const spec = scratchSpec('FROM scratch\n', 'boot:\n  cmdlne: quiet\n');
    const result = await runCli(['plan', '--spec', spec]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('boot.cmdlne: unknown key "cmdlne" (did you mean "cmdline"?)');
  });

  it('a missing Dockerfile or context: named', async () => {
    const spec = scratchSpec('FROM scratch\n');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('context: layer', 'context: nowhere'));
    const result = await runCli(['build', '--spec', spec]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/build context .*nowhere does not exist/);
  });

  it('no engine: a clear message and a way out', async () => {
    const result = await runCli(['build'], { env: { DOCKER_HOST: 'unix:///tmp/ros-build-no-engine.sock' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('no Docker engine answers at unix:///tmp/ros-build-no-engine.sock');
    expect(result.stderr).toContain('make setup');
  });
});

describe('base bootstrap', () => {
  it('creates a missing base image with mmdebstrap when it cannot be pulled, and it runs', async () => {
    const base = 'ros-build-test/bootstrap:bookworm';
    await execa('docker', ['rmi', '-f', base], { reject: false });
    const spec = scratchSpec('ARG PARENT_IMAGE\nFROM ${PARENT_IMAGE}\nRUN test -f /etc/debian_version\n');
    writeFileSync(
      spec,
      readFileSync(spec, 'utf8').replace(
        'base: { image: debian:bookworm }',
        `base:\n      image: ${base}\n      bootstrap: { tool: mmdebstrap, suite: bookworm, mirror: "http://deb.debian.org/debian", variant: minbase }`,
      ),
    );
    try {
      const result = await runCli(['build', '--spec', spec]);
      expect(result.stderr).toMatch(/base: built in .*bootstrapped/);
      expect(result.exitCode).toBe(0);
      const { stdout } = await execa('docker', ['run', '--rm', base, 'cat', '/etc/debian_version']);
      expect(stdout).toMatch(/^12\./);
    } finally {
      // The layer image built on the bootstrapped base goes too, before the base (a child keeps it only untagged).
      const plan = await runCli(['plan', 'build', '--json', '--spec', spec]);
      const layers = plan.exitCode === 0 ? JSON.parse(plan.stdout).steps.flatMap((s: { probe: { summary: string } }) => /-> (ros-build\/\S+)$/.exec(s.probe.summary)?.[1] ?? []) : [];
      await execa('docker', ['rmi', '-f', 'ros-build-test/scratch:it', ...layers, base], { reject: false });
    }
  }, 600_000);
});

