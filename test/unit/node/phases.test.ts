import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../src/node/crypt.js';
import { applyPhase } from '../../../src/node/phases.js';
import { createRecordingSystem } from './install-root.js';

/** A node's root in a temporary directory; programs are recorded, not run (modprobe, hostname, chpasswd would change this machine). */
const createTestSystem = (root: string) => createRecordingSystem(root);

let root: string;
const write = (path: string, text: string) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
};
const read = (path: string) => readFileSync(join(root, path), 'utf8');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ros-phases-'));
  write('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nrancher:x:1000:1000:RancherOS user:/home/rancher:/bin/bash\n');
  write('etc/group', 'root:x:0:\nadm:x:4:\nrancher:x:1000:\n');
  write('etc/shadow', 'root:!:19000::::::\nrancher:*:19000::::::\n');
  write('etc/hosts', '127.0.0.1\tlocalhost\n');
  mkdirSync(join(root, 'home/rancher'), { recursive: true });
  write('proc/sys/vm/swappiness', '60\n');
  write('proc/cmdline', 'quiet ros.sysctl[vm.swappiness]=5 ros.modules=from-cmdline\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const fullConfig = [
  '#cloud-config',
  '# the comment stays',
  'hostname: node-1',
  'ssh_authorized_keys: ["ssh-ed25519 AAAAkey1 a@b"]',
  'write_files:',
  '  - { path: /etc/plain, content: "plain\\n", owner: "rancher:adm", permissions: "0640" }',
  `  - { path: /etc/b64, content: ${Buffer.from('b64\n').toString('base64')}, encoding: b64 }`,
  `  - { path: /etc/gz, content: !!binary ${gzipSync('gz\n').toString('base64')}, encoding: gzip }`,
  `  - { path: /etc/gzb64, content: ${gzipSync('gzb64\n').toString('base64')}, encoding: gz+b64, permissions: "0755" }`,
  'init_cmd: ["echo init"]',
  'boot_cmd: [["/bin/echo", "boot"]]',
  'run_cmd: ["echo run"]',
  'ros:',
  '  modules: [dummy]',
  '  sysctl: { vm.swappiness: "10" }',
  '  dns_nameservers: [1.1.1.1, 8.8.8.8]',
  '  ntp_servers: [ntp.example.org]',
  '  password: correct-horse',
  '  environment: { HTTP_PROXY: "http://proxy:3128" }',
].join('\n');

describe('applyPhase init', () => {
  it('applies the init keys: files with their encodings, owners and modes, hostname, modules, sysctl, password, environment, init_cmd', async () => {
    write('oem/90_custom.yaml', fullConfig);
    const system = createTestSystem(root);
    expect(await applyPhase(system, 'init')).toEqual({ ok: true });
    expect(read('etc/plain')).toBe('plain\n');
    expect(statSync(join(root, 'etc/plain')).mode & 0o7777).toBe(0o640);
    expect([statSync(join(root, 'etc/plain')).uid, statSync(join(root, 'etc/plain')).gid]).toEqual([1000, 4]);
    expect([read('etc/b64'), read('etc/gz'), read('etc/gzb64')]).toEqual(['b64\n', 'gz\n', 'gzb64\n']);
    expect(statSync(join(root, 'etc/gzb64')).mode & 0o7777).toBe(0o755);
    expect(read('etc/hostname')).toBe('node-1\n');
    expect(read('etc/hosts')).toContain('127.0.1.1\tnode-1');
    // The command line is applied last: its sysctl wins, its module adds to the list.
    expect(read('proc/sys/vm/swappiness')).toBe('5\n');
    const programs = system.runs.map((r) => [r.file, ...r.args].join(' '));
    expect(programs).toEqual(['systemctl set-environment HTTP_PROXY=http://proxy:3128', 'hostname node-1', 'modprobe dummy', 'modprobe from-cmdline', 'chpasswd --encrypted', '/bin/sh -c echo init']);
    expect(read('etc/environment')).toBe('HTTP_PROXY="http://proxy:3128"\n');
    const chpasswd = system.runs.find((r) => r.file === 'chpasswd')!;
    const hash = chpasswd.options!.input!.trim().split(':').slice(1).join(':');
    expect(verifyPassword('correct-horse', hash)).toBe(true);
    expect(system.runs.find((r) => r.file === '/bin/sh')!.options!.env!.HTTP_PROXY).toBe('http://proxy:3128');
  });

  it('replaces a clear-text password on COS_OEM by its hash, keeping the rest of the file', async () => {
    write('oem/90_custom.yaml', fullConfig);
    const system = createTestSystem(root);
    await applyPhase(system, 'init');
    const rewritten = read('oem/90_custom.yaml');
    expect(rewritten).not.toContain('correct-horse');
    expect(rewritten).toContain('# the comment stays');
    expect(rewritten).toMatch(/password: \$6\$/);
    expect(system.lines.join('\n')).not.toContain('correct-horse');
  });

  it('gives the same result applied twice, and leaves a matching password hash alone', async () => {
    write('oem/90_custom.yaml', fullConfig);
    await applyPhase(createTestSystem(root), 'init');
    const first = ['etc/plain', 'etc/hosts', 'etc/environment', 'etc/hostname'].map(read);
    const hash = /password: (\S+)/.exec(read('oem/90_custom.yaml'))![1]!;
    write('etc/shadow', `root:!:19000::::::\nrancher:${hash}:19000::::::\n`);
    const second = createTestSystem(root);
    await applyPhase(second, 'init');
    expect(['etc/plain', 'etc/hosts', 'etc/environment', 'etc/hostname'].map(read)).toEqual(first);
    expect(second.runs.some((r) => r.file === 'chpasswd')).toBe(false);
  });

  it('reports a broken file and a wrong type with file and key path, fails, and still applies the rest', async () => {
    write('oem/10_good.yaml', 'hostname: still-applied\n');
    write('oem/20_broken.yaml', 'hostname: [oops\n');
    write('oem/30_typed.yaml', 'ros:\n  sysctl: 5\nwrite_files:\n  - { path: /etc/kept, content: kept }\n');
    const system = createTestSystem(root);
    expect(await applyPhase(system, 'init')).toEqual({ ok: false });
    const log = system.lines.join('\n');
    expect(log).toContain(`ros: error: init: ${join(root, 'oem/20_broken.yaml')}: not valid YAML`);
    expect(log).toContain(`ros: error: init: ${join(root, 'oem/30_typed.yaml')}: ros.sysctl: must be object`);
    expect(read('etc/hostname')).toBe('still-applied\n');
    expect(read('etc/kept')).toBe('kept');
  });

  it('warns about family keys it does not apply, without failing', async () => {
    write('oem/90.yaml', 'server_url: https://k8s:6443\n');
    const system = createTestSystem(root);
    expect(await applyPhase(system, 'init')).toEqual({ ok: true });
    expect(system.lines).toContain('ros: warning: server_url: accepted, not applied by this OS at the top level: use ros.server_url');
  });
});

describe('applyPhase boot', () => {
  it('gives the keys to rancher (never root), sets fallback DNS and NTP, runs boot_cmd', async () => {
    write('oem/90_custom.yaml', fullConfig);
    write('home/rancher/.ssh/authorized_keys', 'ssh-rsa AAAAbyhand kept@host\n');
    const system = createTestSystem(root);
    expect(await applyPhase(system, 'boot')).toEqual({ ok: true });
    expect(read('home/rancher/.ssh/authorized_keys')).toBe('ssh-rsa AAAAbyhand kept@host\nssh-ed25519 AAAAkey1 a@b\n');
    expect(statSync(join(root, 'home/rancher/.ssh/authorized_keys')).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'home/rancher/.ssh')).uid).toBe(1000);
    expect(() => statSync(join(root, 'root/.ssh/authorized_keys'))).toThrow();
    expect(read('etc/resolv.conf')).toMatch(/nameserver 1\.1\.1\.1\nnameserver 8\.8\.8\.8\n$/);
    expect(read('etc/dhcp/dhclient-enter-hooks.d/ros-dns-fallback')).toContain('1.1.1.1 8.8.8.8');
    expect(read('etc/systemd/timesyncd.conf.d/10-ros.conf')).toContain('FallbackNTP=ntp.example.org');
    expect(system.runs.map((r) => r.file)).toContain('/bin/echo');
    // applied twice: the key is not added again
    await applyPhase(createTestSystem(root), 'boot');
    expect(read('home/rancher/.ssh/authorized_keys').match(/AAAAkey1/g)).toHaveLength(1);
  });
});

describe('applyPhase runtime', () => {
  it('runs run_cmd and no init or boot commands, and probes nothing when no data source is configured', async () => {
    write('oem/90_custom.yaml', fullConfig);
    const system = createTestSystem(root);
    expect(await applyPhase(system, 'runtime')).toEqual({ ok: true });
    const shells = system.runs.filter((r) => r.file === '/bin/sh' || r.file === '/bin/echo').map((r) => r.args.join(' '));
    expect(shells).toEqual(['-c echo run']);
    expect(system.lines.join('\n')).not.toMatch(/data source/);
  });
});
