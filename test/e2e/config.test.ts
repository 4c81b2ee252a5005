import { execa } from 'execa';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { verifyPassword } from '../../src/node/crypt.js';
import { runCli, specFlags, testImage } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushStandInInstaller } from '../helpers/rke2-installer.js';

// Under TCG a boot takes 60–120 s on two cores; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 900_000;
const password = 'Clear-Text-Pw-7b1e';
const k8sToken = 'K10e2e-join-token::server:9f3c1a';
// The stand-in RKE2 installer images (test/helpers/rke2-installer.ts) in a registry on the host, reached at qemu's gateway.
const REGISTRY_PORT = 5132;
const passphrase = { COSIGN_PASSWORD: 'config-e2e' };
const installerRepo = `${testImage.repo.split('/')[0]}/rke2-installer`;
const installerImage = (tag: string) => `10.0.2.2:${REGISTRY_PORT}/${installerRepo}:${tag}`;
// The first version comes from the disk's air-gap bundle (--bundle): the node's configuration names it at 127.0.0.1, the
// node's own loopback, where no registry answers, so only the bundle can give it.
const bundledImage = `127.0.0.1:${REGISTRY_PORT}/${installerRepo}:v1`;
const imagesTarball = 'rke2-images.linux-amd64.tar.zst';
const rke2Versions = { v1: 'v1.0.0+rke2r1', v2: 'v1.1.0+rke2r1', v3: 'v1.2.0+rke2r1' } as const;

/*
 * The node's configuration (CONFIG.md), looked at from inside: one disk whose
 * COS_OEM config uses every key, booted once and checked over SSH as
 * rancher; then rebooted with more settings on the kernel command line (GRUB's
 * extra_cmdline) and two bad files on COS_OEM.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-config-'));
const key = join(work, 'id_ed25519');
let guest: Guest;
let registry: TestRegistry;
const installers: Record<string, string> = {};

const fullConfig = (publicKey: string, verifyKey: string) => `#cloud-config
# written by the e2e test; ros replaces the clear-text password below by its hash
hostname: ros-config-e2e
ssh_authorized_keys:
  - ${publicKey}
  - github:no-network-here
write_files:
  - { path: /etc/e2e/plain, content: "plain text\\n", owner: "rancher:rancher", permissions: "0640" }
  - { path: /etc/e2e/b64, content: ${Buffer.from('base64 text\n').toString('base64')}, encoding: b64, permissions: "0600" }
  - { path: /etc/e2e/gz, content: !!binary ${gzipSync('gzip text\n').toString('base64')}, encoding: gzip, owner: "root:adm" }
  - { path: /opt/e2e/phase, encoding: gz+b64, permissions: "0755", content: ${gzipSync('#!/bin/sh\necho "$1 $(ip -4 -o addr show eth0 | grep -c inet)" >> /run/e2e-phases\n').toString('base64')} }
init_cmd: ["/opt/e2e/phase init"]
boot_cmd: [["/opt/e2e/phase", "boot"]]
run_cmd: ["/opt/e2e/phase run"]
ros:
  modules: [dummy]
  sysctl: { vm.swappiness: "13" }
  dns_nameservers: [1.1.1.1]
  ntp_servers: [ntp.e2e.example.org]
  password: ${password}
  environment: { E2E_PROXY: "http://proxy.e2e:3128" }
  kubernetes: { distribution: rke2, version: ${rke2Versions.v1}, image: ${bundledImage}, verify_key: ${verifyKey}, allow_http: true }
  server_url: https://k8s.e2e:9345
  token: ${k8sToken}
  labels: { zone: e2e }
  taints: ["dedicated=e2e:NoSchedule"]
  rke2_args: [agent, --node-name=ros-config-e2e, --tls-san, k8s.e2e]
server_url: https://k8s.e2e:6443
hostnme: typo
`;

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build config e2e', '-f', key]);
  // Three installer versions: v1 and v2 signed with the key the node is given, v3 not signed.
  registry = await startRegistry({ port: REGISTRY_PORT });
  expect((await runCli(['keygen', '--output-prefix', join(work, 'k8s')], { env: passphrase })).exitCode).toBe(0);
  for (const tag of ['v1', 'v2', 'v3'] as const) {
    const pushed = await pushStandInInstaller(work, `${registry.host}/${installerRepo}`, tag, rke2Versions[tag]);
    installers[tag] = pushed.digest;
    if (tag === 'v3') continue;
    const signed = await runCli(['sign', pushed.reference, '--key', join(work, 'k8s.key'), '--signer', 'builtin', '--no-checksums', '--output-dir', join(work, 'publish')], { env: passphrase });
    expect(signed.exitCode, signed.stderr).toBe(0);
  }
  // The key's base64 body on one line, as a kernel command line or a one-line YAML value carries it.
  const verifyKey = readFileSync(join(work, 'k8s.pub'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
  const cloudConfig = join(work, 'cloud-config.yaml');
  writeFileSync(cloudConfig, fullConfig(readFileSync(`${key}.pub`, 'utf8').trim(), verifyKey));
  writeFileSync(join(work, imagesTarball), 'stand-in images for the agent\n');
  const bundle = ['--bundle', `${registry.host}/${installerRepo}:v1`, '--bundle-images', join(work, imagesTarball)];
  const built = await runCli(['disk', '--cloud-config', cloudConfig, '--format', 'raw', '--output', join(work, 'disk'), ...bundle, ...specFlags()]);
  expect(built.stderr).toMatch(new RegExp(`bundle: ${registry.host}/${installerRepo}:v1 \\(sha256:[0-9a-f]{64}\\), with its cosign signature`));
  expect(built.stderr).not.toMatch(/error:/);
  expect(built.exitCode).toBe(0);
  const machine = join(work, 'machine.raw');
  copyFileSync(built.stdout.trim(), machine);
  guest = await startGuest({ artifact: machine, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'machine.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
  await guest.waitForLogin();
});

afterAll(async () => {
  await guest?.stop();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

const sh = async (command: string) => {
  const result = await guest.run(command);
  return { ...result, stdout: result.stdout.trim() };
};
const journal = async () => (await sh('sudo journalctl -b --no-pager -o cat')).stdout;
/** The stand-in rke2's record of its start: version, role, args, pid, boot id. */
const parseStarted = (text: string) => Object.fromEntries(text.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])) as Record<'version' | 'role' | 'args' | 'pid' | 'boot', string>;

describe('a disk configured with every key, checked over SSH as rancher', () => {
  it('logs rancher in with the key, gives it passwordless sudo, and refuses root', async () => {
    expect((await sh('id -un')).stdout).toBe('rancher');
    expect((await sh('sudo -n true')).exitCode).toBe(0);
    const root = await execa('ssh', ['-i', key, '-p', String(guest.sshPort), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', 'root@127.0.0.1', 'true'], { reject: false });
    expect(root.exitCode).toBe(255);
    expect(root.stderr).toContain('Permission denied');
    expect((await sh('sudo test -e /root/.ssh/authorized_keys')).exitCode).not.toBe(0);
    expect((await sh('hostname')).stdout).toBe('ros-config-e2e');
  }, testTimeoutMs);

  it('wrote the files in all four encodings with their owners and modes', async () => {
    const files = ['/etc/e2e/plain', '/etc/e2e/b64', '/etc/e2e/gz', '/opt/e2e/phase'];
    expect((await sh(`sudo stat -c '%n %U:%G %a' ${files.join(' ')}`)).stdout.split('\n')).toEqual([
      '/etc/e2e/plain rancher:rancher 640',
      '/etc/e2e/b64 root:root 600',
      '/etc/e2e/gz root:adm 644',
      '/opt/e2e/phase root:root 755',
    ]);
    expect((await sh('sudo cat /etc/e2e/plain /etc/e2e/b64 /etc/e2e/gz')).stdout).toBe('plain text\nbase64 text\ngzip text');
  }, testTimeoutMs);

  it('ran init_cmd, boot_cmd and run_cmd once each, in order: the first two before eth0 had an address, the last after', async () => {
    expect((await sh('cat /run/e2e-phases')).stdout).toBe('init 0\nboot 0\nrun 1');
  }, testTimeoutMs);

  it('loaded the module, set the sysctl, and put the fallback DNS and NTP servers in place', async () => {
    expect((await sh('lsmod')).stdout).toMatch(/^dummy\s/m);
    expect((await sh('cat /proc/sys/vm/swappiness')).stdout).toBe('13');
    // DHCP's server first, the fallback after it.
    expect((await sh('grep ^nameserver /etc/resolv.conf')).stdout).toMatch(/nameserver 10\.0\.2\.3\nnameserver 1\.1\.1\.1/);
    expect((await sh('timedatectl show-timesync -p FallbackNTPServers --value')).stdout).toBe('ntp.e2e.example.org');
  }, testTimeoutMs);

  it('stored the password as a hash: in /etc/shadow, and in place of the clear text on COS_OEM; the clear text is on no disk and not in the journal', async () => {
    const hash = (await sh("sudo awk -F: '$1 == \"rancher\" { print $2 }' /etc/shadow")).stdout;
    expect(hash).toMatch(/^\$6\$/);
    expect(verifyPassword(password, hash)).toBe(true);
    expect((await sh('sudo cat /oem/cloud-config.yaml')).stdout).toContain('# written by the e2e test');
    // Wherever the node writes: /oem, /tmp, /run, and the upper layers of the ephemeral and persistent overlays (/etc,
    // /var, /home, /root … all land there); not the image under them, written before the password existed (and long to
    // read under emulation); FIFOs such as /run/initctl skipped, or grep waits on them. The pattern goes on stdin: on
    // sudo's command line it would be logged to the journal by sudo.
    const roots = '/etc /oem /tmp /run/initramfs/ros/overlay /run/initramfs/ros/persistent $(ls -d /run/* | grep -vx /run/initramfs)';
    const found = await guest.run(`sudo sh -c 'grep -r -D skip -l -F -f - ${roots} 2>/dev/null'`, { input: `${password}\n` });
    expect(found.stdout).toBe('');
    expect(await journal()).not.toContain(password);
    expect((await sh('ros config show 2>/dev/null; sudo ros config show 2>/dev/null')).stdout).not.toMatch(new RegExp(`${password}|\\$6\\$`));
  }, testTimeoutMs);

  it('wrote RKE2\'s config.yaml from the Kubernetes keys, readable by root only; the token is in no log and masked by ros config show', async () => {
    expect((await sh('sudo stat -c "%a %U" /etc/rancher/rke2/config.yaml')).stdout).toBe('600 root');
    expect(parse((await sh('sudo cat /etc/rancher/rke2/config.yaml')).stdout)).toEqual({
      server: 'https://k8s.e2e:9345',
      token: k8sToken,
      'node-label': ['zone=e2e'],
      'node-taint': ['dedicated=e2e:NoSchedule'],
      'node-name': 'ros-config-e2e',
      'tls-san': ['k8s.e2e'],
    });
    const log = await journal();
    expect(log).toContain('ros: kubernetes: wrote /etc/rancher/rke2/config.yaml for rke2 as an agent (server, token, node-label, node-taint, node-name, tls-san)');
    expect(log).not.toContain(k8sToken);
    const shown = (await sh('sudo ros config show')).stdout;
    expect(shown).toMatch(/^ {2}token: \(hidden\)$/m);
    expect(shown).not.toContain(k8sToken);
  }, testTimeoutMs);

  it('gave the environment to services systemd starts and to login shells', async () => {
    expect((await sh('sudo systemd-run --quiet --wait --pipe printenv E2E_PROXY')).stdout).toBe('http://proxy.e2e:3128');
    expect((await sh('bash -lc "printenv E2E_PROXY"')).stdout).toBe('http://proxy.e2e:3128');
  }, testTimeoutMs);

  it('said what it did not apply: the typo, the Kubernetes key, the GitHub key without a network; the units all succeeded', async () => {
    const log = await journal();
    expect(log).toContain('hostnme: unknown key, ignored (did you mean "hostname"?)');
    expect(log).toContain('ros: warning: server_url: accepted, not applied by this OS at the top level: use ros.server_url');
    expect(log).toMatch(/ros: warning: ssh_authorized_keys: github:no-network-here: keys not fetched/);
    expect((await sh('systemctl is-active ros-config-init ros-config-boot ros-config-runtime')).stdout).toBe('active\nactive\nactive');
  }, testTimeoutMs);

  it('applied the three phases with one start of ros (ros-phases.service); without that server a unit applies its phase itself', async () => {
    expect((await sh('sudo journalctl -b -u ros-phases --no-pager -o cat | grep -c "serving the configuration phases"')).stdout).toBe('1');
    expect(await journal()).not.toContain('applying the');
    const rerun = await sh('sudo systemctl mask --runtime --now ros-phases.socket ros-phases.service && sudo systemctl restart ros-config-runtime');
    await sh('sudo systemctl unmask --runtime ros-phases.socket ros-phases.service');
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const log = (await sh('sudo journalctl -b -u ros-config-runtime --no-pager -o cat')).stdout;
    expect(log).toMatch(/ros: the phase server did not answer \(curl exit 7\): applying the runtime phase directly\n[\s\S]*ros: runtime phase applied/);
    expect((await sh('cat /run/e2e-phases')).stdout).toBe('init 0\nboot 0\nrun 1\nrun 1');
  }, testTimeoutMs);

  it('checks a file with `ros config validate`: the key path of each problem, exit 1', async () => {
    const bad = await sh("printf 'hostname: [a\\n' > /tmp/bad.yaml; ros config validate /tmp/bad.yaml");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/error: \/tmp\/bad\.yaml: not valid YAML/);
    const typed = await sh("printf 'ros:\\n  sysctl: 5\\n' > /tmp/typed.yaml; ros config validate /tmp/typed.yaml");
    expect(typed.exitCode).toBe(1);
    expect(typed.stderr).toContain('error: /tmp/typed.yaml: ros.sysctl: must be object');
  }, testTimeoutMs);
});

describe('RKE2 from its installer image (a stand-in with the vendor\'s layout: RKE2 itself cannot be downloaded here)', () => {
  const started = async () => parseStarted((await sh('sudo cat /var/lib/rancher/rke2/standin/agent.started')).stdout);
  const waitForVersion = async (version: string) => {
    for (let i = 0; i < 120; i++) {
      const record = await started().catch(() => undefined);
      if (record?.version === version && (await sh('systemctl is-active rke2-agent.service')).stdout === 'active') return record;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`rke2-agent.service never ran ${version}: ${(await sh('systemctl status rke2-agent.service; sudo journalctl -b -u ros-config-runtime -o cat | tail -20')).stdout}`);
  };
  const setVersion = (tag: keyof typeof rke2Versions) =>
    sh(`sudo mkdir -p /var/lib/rancher/ros/config.d && printf 'ros:\\n  kubernetes: { version: ${rke2Versions[tag]}, image: ${installerImage(tag)} }\\n' | sudo tee /var/lib/rancher/ros/config.d/50-kubernetes.yaml >/dev/null`);

  it('installed the configured version at the first boot from the disk\'s bundle, verified, and runs it as an agent with the config ros wrote', async () => {
    const record = await waitForVersion(rke2Versions.v1);
    expect(record.role).toBe('agent');
    // It was started with the config.yaml of the keys already in place.
    expect((await sh('sudo cat /var/lib/rancher/rke2/standin/agent.config.yaml')).stdout).toBe((await sh('sudo cat /etc/rancher/rke2/config.yaml')).stdout);
    const log = await journal();
    expect(log).toMatch(new RegExp(`ros: kubernetes: installed rke2 ${rke2Versions.v1.replace('+', '\\+')} from 127\\.0\\.0\\.1:${REGISTRY_PORT}/\\S+@${installers.v1} \\(signature verified with the configured key \\S+; [\\d.]+ [KM]iB read from the bundle in /oem/bundle\\) in \\d+ s`));
    // The bundle's image tarball went where the agent imports images, before it started.
    expect(log).toContain(`ros: kubernetes: restarting rke2-agent.service (rke2 ${rke2Versions.v1}; ${imagesTarball} from the bundle placed in /var/lib/rancher/rke2/agent/images)`);
    expect((await sh(`sudo cat /var/lib/rancher/rke2/agent/images/${imagesTarball}`)).stdout).toBe('stand-in images for the agent');
    expect((await sh('sudo ros status')).stdout).toMatch(new RegExp(`^kubernetes: rke2 ${rke2Versions.v1.replace('+', '\\+')} \\(agent\\), from \\S+@${installers.v1}; rke2-agent\\.service active$`, 'm'));
    // The installs live on /var (the node's); the image's /usr is untouched.
    expect((await sh(`sudo test -x /var/lib/rancher/ros/kubernetes/rke2/${rke2Versions.v1}/bin/rke2 && echo yes`)).stdout).toBe('yes');
    const since = Number((await sh('systemctl show -P ActiveEnterTimestampMonotonic rke2-agent.service')).stdout) / 1e6;
    process.stdout.write(`rke2 (stand-in) service started ${since.toFixed(0)} s after the kernel started, its install included\n`);
  }, testTimeoutMs);

  it('a new version in config.d installs and restarts the service with `ros config apply`, without a reboot', async () => {
    const before = await started();
    expect((await setVersion('v2')).exitCode).toBe(0);
    const applied = await sh('sudo ros config apply --phase runtime');
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`installed rke2 ${rke2Versions.v2.replace('+', '\\+')} from \\S+@${installers.v2}`));
    expect(applied.stdout).toContain('kubernetes: restarting rke2-agent.service');
    const after = await waitForVersion(rke2Versions.v2);
    expect(after.boot).toBe(before.boot);
    expect(after.pid).not.toBe(before.pid);
    expect((await sh(`ls /var/lib/rancher/ros/kubernetes/rke2`)).stdout).toBe(rke2Versions.v2);
  }, testTimeoutMs);

  it('refuses an unsigned installer image, saying why, and the installed version keeps running', async () => {
    expect((await setVersion('v3')).exitCode).toBe(0);
    const refused = await sh('sudo ros config apply --phase runtime');
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`error: runtime: kubernetes: the rke2 installer image ${installerImage('v3').replace(/\./g, '\\.')} was refused: .*is not signed.*; rke2 ${rke2Versions.v2.replace('+', '\\+')} keeps running`));
    expect((await started()).version).toBe(rke2Versions.v2);
    expect((await sh('systemctl is-active rke2-agent.service')).stdout).toBe('active');
    expect((await sh('sudo ros status')).stdout).toContain(`ros.kubernetes.version ${rke2Versions.v3} NOT installed yet`);
    // Back to v2 for the reboot below.
    expect((await setVersion('v2')).exitCode).toBe(0);
  }, testTimeoutMs);

  it('restarts the service when only its settings change, with nothing installed', async () => {
    const before = await started();
    expect((await sh(`printf 'ros:\\n  labels: { zone: changed }\\n' | sudo tee /var/lib/rancher/ros/config.d/60-labels.yaml >/dev/null`)).exitCode).toBe(0);
    const applied = await sh('sudo ros config apply --phase runtime');
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/kubernetes: wrote \/etc\/rancher\/rke2\/config\.yaml for rke2 as an agent \([^)]*\), changed/);
    expect(applied.stdout).toContain(`kubernetes: restarting rke2-agent.service (rke2 ${rke2Versions.v2})`);
    expect(applied.stdout).not.toContain('kubernetes: installed');
    let after = await started();
    for (let i = 0; i < 60 && after.pid === before.pid; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      after = await started();
    }
    expect(after.pid).not.toBe(before.pid);
    expect(parse((await sh('sudo cat /var/lib/rancher/rke2/standin/agent.config.yaml')).stdout)['node-label']).toEqual(['zone=changed']);
  }, testTimeoutMs);
});

describe('the same machine with settings on the kernel command line and two bad files on COS_OEM', () => {
  beforeAll(async () => {
    const cmdline = 'ros.hostname=from-cmdline ros.sysctl[vm.swappiness]=17 ros.modules=veth ros.dns_nameservers=9.9.9.9 ros.ntp_servers=ntp.cmdline.example.org ros.environment[E2E_PROXY]=http://cmdline:3128';
    const setup = [
      `sudo /usr/libexec/ros/grubenv /oem/grubenv 'extra_cmdline=${cmdline}'`,
      "printf 'hostname: [unclosed\\n' | sudo tee /oem/99-broken.yaml",
      "printf 'ros:\\n  sysctl: 5\\n' | sudo tee /oem/98-typed.yaml",
      'sync',
    ].join(' && ');
    expect((await sh(setup)).exitCode).toBe(0);
    await guest.reboot();
  }, testTimeoutMs);

  it('reached a login prompt, applied the command line over COS_OEM, and kept the rest of COS_OEM', async () => {
    expect((await sh('cat /proc/cmdline')).stdout).toContain('ros.hostname=from-cmdline');
    expect((await sh('hostname')).stdout).toBe('from-cmdline');
    expect((await sh('cat /proc/sys/vm/swappiness')).stdout).toBe('17');
    expect((await sh('lsmod')).stdout).toMatch(/^veth\s/m);
    expect((await sh('lsmod')).stdout).toMatch(/^dummy\s/m);
    expect((await sh('grep ^nameserver /etc/resolv.conf')).stdout).toContain('nameserver 9.9.9.9');
    expect((await sh('timedatectl show-timesync -p FallbackNTPServers --value')).stdout).toBe('ntp.cmdline.example.org');
    expect((await sh('sudo systemd-run --quiet --wait --pipe printenv E2E_PROXY')).stdout).toBe('http://cmdline:3128');
    expect((await sh('sudo cat /etc/e2e/plain')).stdout).toBe('plain text');
  }, testTimeoutMs);

  it('reported each bad file with its path on the console and in the journal, and marked the unit failed', async () => {
    const log = await journal();
    expect(log).toMatch(/ros: error: init: \/oem\/99-broken\.yaml: not valid YAML/);
    expect(log).toContain('ros: error: init: /oem/98-typed.yaml: ros.sysctl: must be object; skipped');
    expect(readFileSync(guest.logPath, 'utf8')).toContain('/oem/99-broken.yaml: not valid YAML');
    expect((await sh('systemctl is-failed ros-config-init')).stdout).toBe('failed');
  }, testTimeoutMs);

  it('runs the installed RKE2 again with nothing pulled: its units put back into the new /etc, its state under /var/lib kept', async () => {
    for (let i = 0; i < 120 && (await sh('systemctl is-active rke2-agent.service')).stdout !== 'active'; i++) await new Promise((r) => setTimeout(r, 1000));
    const record = parseStarted((await sh('sudo cat /var/lib/rancher/rke2/standin/agent.started')).stdout);
    expect(record.version).toBe(rke2Versions.v2);
    expect(record.boot).toBe((await sh('cat /proc/sys/kernel/random/boot_id')).stdout);
    // Four starts in all (v1 at the first boot, v2 after the change, v2 for its new label, v2 again now), in /var/lib/rancher and /var/lib/kubelet.
    expect((await sh('sudo cat /var/lib/rancher/rke2/standin/starts')).stdout.split('\n')).toHaveLength(4);
    expect((await sh('sudo cat /var/lib/kubelet/standin/last-version')).stdout).toBe(rke2Versions.v2);
    const log = (await sh('sudo journalctl -b -u ros-config-runtime -u ros-config-boot --no-pager -o cat')).stdout;
    expect(log).not.toContain('kubernetes: installed');
    expect(log).toContain('ros: kubernetes: starting rke2-agent.service (rke2 v1.1.0+rke2r1)');
  }, testTimeoutMs);
});
