import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RosConfig } from '../../../src/config/types.js';
import { installDistribution, KUBERNETES_STATE_DIR, readInstalled, startDistribution, wantsInstall } from '../../../src/node/kubernetes/install.js';
import type { NodeSystem } from '../../../src/node/system.js';
import { createRecordingSystem } from './install-root.js';

/*
 * The install's own logic over a scratch root: the registry (resolveImage,
 * unpackImage) is replaced by a fixture directory, the vendor's installer by
 * a recorder that writes the units it would. The real pull, installer and
 * service run in the config e2e.
 */
const fixture = { corrupt: false, installerFails: false, refuse: undefined as string | undefined, artifact: 'rke2.linux-amd64.tar.gz' };
vi.mock('../../../src/node/upgrade/index.js', () => ({
  resolveImage: async (_system: NodeSystem, request: { image: string; key?: string }) => {
    if (fixture.refuse) throw new Error(fixture.refuse);
    return { check: { reference: request.image, digest: `sha256:${'a'.repeat(64)}`, verifiedWith: request.key, layers: 1, compressedBytes: 3 * 2 ** 20 }, client: {}, layers: [] };
  },
  unpackImage: async (_system: NodeSystem, _client: unknown, _layers: unknown, dir: string) => {
    mkdirSync(dir, { recursive: true });
    const tarball = Buffer.from('the release tarball');
    writeFileSync(join(dir, fixture.artifact), tarball);
    const sha = createHash('sha256').update(fixture.corrupt ? 'something else' : tarball).digest('hex');
    writeFileSync(join(dir, 'sha256sum-amd64.txt'), `${sha}  ${fixture.artifact}\n${'b'.repeat(64)}  rke2-images.linux-amd64.tar.zst\n`);
    writeFileSync(join(dir, 'installer.sh'), '#!/bin/sh\n');
  },
}));

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A scratch root whose `sh` does what RKE2's install.sh does with a tar prefix: the tree under it, the units in /etc/systemd/system. */
function fakeSystem() {
  const root = mkdtempSync(join(tmpdir(), 'ros-k8s-install-'));
  roots.push(root);
  return createRecordingSystem(root, (file, _args, options) => {
    if (file !== 'sh') return undefined;
    if (fixture.installerFails) return { code: 1, output: '[ERROR] no space left\n' };
    const env = options!.env!;
    if (env.INSTALL_K3S_BIN_DIR) {
      // k3s's install.sh with INSTALL_K3S_SKIP_DOWNLOAD: the binary must already be in its bin directory.
      if (!existsSync(join(root, env.INSTALL_K3S_BIN_DIR, 'k3s'))) return { code: 1, output: 'k3s binary not found\n' };
      const name = env.INSTALL_K3S_EXEC === 'agent' ? 'k3s-agent' : 'k3s';
      mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
      writeFileSync(join(root, `etc/systemd/system/${name}.service`), `ExecStart=${env.INSTALL_K3S_BIN_DIR}/k3s ${env.INSTALL_K3S_EXEC}\n`);
      writeFileSync(join(root, `etc/systemd/system/${name}.service.env`), '');
      return undefined;
    }
    const prefix = env.INSTALL_RKE2_TAR_PREFIX!;
    mkdirSync(join(root, prefix, 'bin'), { recursive: true });
    writeFileSync(join(root, prefix, 'bin/rke2'), 'rke2');
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'etc/systemd/system/rke2-server.service'), `ExecStart=${prefix}/bin/rke2 server\n`);
    writeFileSync(join(root, 'etc/systemd/system/rke2-server.env'), 'HOME=/root\n');
    return undefined;
  });
}

const want = (version: string, extra: Partial<NonNullable<RosConfig['kubernetes']>> = {}): RosConfig => ({ kubernetes: { version, image: `registry.example/installer:${version}`, ...extra } });

beforeEach(() => Object.assign(fixture, { corrupt: false, installerFails: false, refuse: undefined, artifact: 'rke2.linux-amd64.tar.gz' }));

describe('which version the runtime phase installs', () => {
  const installed = { distribution: 'rke2' as const, version: 'v1.30.1+rke2r1', image: 'docker.io/rancher/system-agent-installer-rke2:v1.30.1-rke2r1@sha256:00', prefix: '/x' };
  it('none without a version or image; the configured one when it is not the installed one', () => {
    expect(wantsInstall({}, 'rke2', undefined)).toBe(false);
    expect(wantsInstall({ kubernetes: { version: 'v1.30.1+rke2r1' } }, 'rke2', installed)).toBe(false);
    expect(wantsInstall({ kubernetes: { version: 'v1.30.2+rke2r1' } }, 'rke2', installed)).toBe(true);
    expect(wantsInstall({ kubernetes: { version: 'v1.30.1+rke2r1' } }, 'rke2', undefined)).toBe(true);
    expect(wantsInstall({ kubernetes: { version: 'v1.30.1+rke2r1', image: 'docker.io/rancher/system-agent-installer-rke2:v1.30.1-rke2r1' } }, 'rke2', installed)).toBe(false);
    expect(wantsInstall({ kubernetes: { version: 'v1.30.1+rke2r1', image: 'mirror.example/installer:v1' } }, 'rke2', installed)).toBe(true);
  });
});

describe('installing from an installer image', () => {
  it('runs the vendor installer offline into a prefix per version, keeps its units, records the version, and drops the previous install', async () => {
    const system = fakeSystem();
    const first = await installDistribution(system, want('v1.0.0+rke2r1', { verify_key: '/etc/k.pub' }), 'rke2', 'agent');
    expect(first.line).toMatch(/^kubernetes: installed rke2 v1\.0\.0\+rke2r1 from registry\.example\/installer:v1\.0\.0\+rke2r1@sha256:a{64} \(signature verified with \/etc\/k\.pub; 3\.0 MiB pulled\) in \d+ s$/);
    const installer = system.runs.find((run) => run.file === 'sh')!;
    expect(installer.args[0]).toBe(join(system.root, KUBERNETES_STATE_DIR, 'rke2/.installer/installer.sh'));
    expect(installer.options?.env).toMatchObject({ INSTALL_RKE2_METHOD: 'tar', INSTALL_RKE2_TYPE: 'agent', INSTALL_RKE2_TAR_PREFIX: `/${KUBERNETES_STATE_DIR}/rke2/v1.0.0+rke2r1` });
    expect(readFileSync(join(system.root, KUBERNETES_STATE_DIR, 'rke2/v1.0.0+rke2r1/ros-units/rke2-server.service'), 'utf8')).toContain('/rke2/v1.0.0+rke2r1/bin/rke2');
    expect(existsSync(join(system.root, KUBERNETES_STATE_DIR, 'rke2/.installer'))).toBe(false);

    await installDistribution(system, want('v1.1.0+rke2r1'), 'rke2', 'agent');
    expect(await readInstalled(system.root)).toMatchObject({ version: 'v1.1.0+rke2r1', prefix: `/${KUBERNETES_STATE_DIR}/rke2/v1.1.0+rke2r1` });
    expect(existsSync(join(system.root, KUBERNETES_STATE_DIR, 'rke2/v1.0.0+rke2r1'))).toBe(false);
  });

  it('refuses an image that does not verify, a tarball that does not match its checksum, and a failed installer, keeping the installed version', async () => {
    const system = fakeSystem();
    await installDistribution(system, want('v1.0.0+rke2r1'), 'rke2', 'server');
    const before = readFileSync(join(system.root, KUBERNETES_STATE_DIR, 'installed.json'), 'utf8');

    fixture.refuse = 'no valid signature for registry.example/installer:v2: a signature does not match the public key';
    await expect(installDistribution(system, want('v2.0.0+rke2r1'), 'rke2', 'server')).rejects.toThrow(
      'the rke2 installer image registry.example/installer:v2.0.0+rke2r1 was refused: no valid signature for registry.example/installer:v2: a signature does not match the public key; rke2 v1.0.0+rke2r1 keeps running',
    );
    fixture.refuse = undefined;
    fixture.corrupt = true;
    await expect(installDistribution(system, want('v2.0.0+rke2r1'), 'rke2', 'server')).rejects.toThrow(/rke2\.linux-amd64\.tar\.gz does not match its checksum in sha256sum-amd64\.txt .*; rke2 v1\.0\.0\+rke2r1 keeps running$/);
    fixture.corrupt = false;
    fixture.installerFails = true;
    await expect(installDistribution(system, want('v2.0.0+rke2r1'), 'rke2', 'server')).rejects.toThrow(/its installer\.sh failed \(exit 1\): \[ERROR\] no space left; rke2 v1\.0\.0\+rke2r1 keeps running$/);

    expect(readFileSync(join(system.root, KUBERNETES_STATE_DIR, 'installed.json'), 'utf8')).toBe(before);
    expect(existsSync(join(system.root, KUBERNETES_STATE_DIR, 'rke2/v1.0.0+rke2r1/bin/rke2'))).toBe(true);
  });

  it('installs k3s the same way: its binary put in the prefix, its install.sh run with the download skipped', async () => {
    fixture.artifact = 'k3s';
    const system = fakeSystem();
    const { line, installed } = await installDistribution(system, { kubernetes: { distribution: 'k3s', version: 'v1.30.1+k3s1' } }, 'k3s', 'agent');
    expect(line).toMatch(/^kubernetes: installed k3s v1\.30\.1\+k3s1 from docker\.io\/rancher\/system-agent-installer-k3s:v1\.30\.1-k3s1@sha256:a{64} /);
    const prefix = `/${KUBERNETES_STATE_DIR}/k3s/v1.30.1+k3s1`;
    expect(installed.prefix).toBe(prefix);
    expect(system.runs.find((run) => run.file === 'sh')!.options?.env).toMatchObject({ INSTALL_K3S_SKIP_DOWNLOAD: 'true', INSTALL_K3S_BIN_DIR: `${prefix}/bin`, INSTALL_K3S_EXEC: 'agent', INSTALL_K3S_SKIP_START: 'true' });
    expect(statSync(join(system.root, prefix, 'bin/k3s')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(system.root, prefix, 'ros-units/k3s-agent.service'), 'utf8')).toBe(`ExecStart=${prefix}/bin/k3s agent\n`);
  });
});

describe('starting the service', () => {
  it('puts the kept units back into the new /etc, stops the other role and starts this one without waiting', async () => {
    const system = fakeSystem();
    await installDistribution(system, want('v1.0.0+rke2r1'), 'rke2', 'server');
    rmSync(join(system.root, 'etc'), { recursive: true });
    system.runs.length = 0;
    expect(await startDistribution(system, 'rke2', 'server', false)).toBe('kubernetes: starting rke2-server.service (rke2 v1.0.0+rke2r1)');
    expect(readFileSync(join(system.root, 'etc/systemd/system/rke2-server.service'), 'utf8')).toContain('bin/rke2 server');
    expect(system.runs.map((run) => [run.file, ...run.args].join(' '))).toEqual(['systemctl daemon-reload', 'systemctl stop --no-block rke2-agent.service', 'systemctl start --no-block rke2-server.service']);
  });

  it('first places a bundle\'s image tarballs where the agent imports them, once', async () => {
    const system = fakeSystem();
    await installDistribution(system, want('v1.0.0+rke2r1'), 'rke2', 'agent');
    mkdirSync(join(system.root, 'oem/bundle/images'), { recursive: true });
    writeFileSync(join(system.root, 'oem/bundle/images/rke2-images.linux-amd64.tar.zst'), 'the cluster\'s images');
    expect(await startDistribution(system, 'rke2', 'agent', false)).toBe(
      'kubernetes: starting rke2-agent.service (rke2 v1.0.0+rke2r1; rke2-images.linux-amd64.tar.zst from the bundle placed in /var/lib/rancher/rke2/agent/images)',
    );
    expect(readFileSync(join(system.root, 'var/lib/rancher/rke2/agent/images/rke2-images.linux-amd64.tar.zst'), 'utf8')).toBe('the cluster\'s images');
    expect(await startDistribution(system, 'rke2', 'agent', false)).toBe('kubernetes: starting rke2-agent.service (rke2 v1.0.0+rke2r1)');
  });

  it('says there is nothing to start when nothing is installed and the image has no unit', async () => {
    const system = fakeSystem();
    system.run = async (file, args) => ({ code: file === 'systemctl' && args[0] === 'cat' ? 1 : 0, output: '' });
    expect(await startDistribution(system, 'rke2', 'agent', false)).toMatch(/no rke2 to start: set ros\.kubernetes\.version to install one, or bake it into the image/);
  });
});
