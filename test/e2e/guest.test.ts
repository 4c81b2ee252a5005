import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { forwardToHost } from '../../src/boot/user-net.js';
import { runCli, specFlags, testOutputDir } from '../helpers/cli.js';

// Under TCG a boot takes 60–120 s on two cores; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 600_000;
const hostname = 'ros-guest-e2e';

/*
 * One ISO carrying a freshly made SSH key for root, booted once as a guest
 * session for every look inside, and once more through the CLI's --check.
 * The guest's user network is 169.254.0.0/16 so that 169.254.169.254:80, the
 * cloud metadata address, can be forwarded to a server in this test.
 */
describe('a booted guest, looked at over SSH', () => {
  const work = mkdtempSync(join(tmpdir(), 'ros-guest-'));
  const key = join(work, 'id_ed25519');
  const requests: Array<{ method: string; url: string; token?: string }> = [];
  let metadata: Server;
  let iso = '';
  let guest: Guest;

  beforeAll(async () => {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build e2e', '-f', key]);
    const cloudConfig = join(work, 'cloud-config.yaml');
    writeFileSync(cloudConfig, `#cloud-config\nhostname: ${hostname}\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
    const built = await runCli(['iso', '--cloud-config', cloudConfig, '--output', join(testOutputDir, 'guest-e2e.iso'), ...specFlags()]);
    expect(built.stderr).not.toMatch(/error:/);
    expect(built.exitCode).toBe(0);
    iso = built.stdout.trim();

    metadata = createServer((request: IncomingMessage, response) => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', token: request.headers['x-aws-ec2-metadata-token'] as string | undefined });
      response.end(request.method === 'PUT' ? 'token-1' : 'i-0123456789');
    });
    await new Promise<void>((resolveListen) => metadata.listen(0, '127.0.0.1', resolveListen));
    const port = (metadata.address() as AddressInfo).port;

    guest = await startGuest({
      artifact: iso,
      timeoutSeconds: bootTimeoutSeconds,
      logPath: join(work, 'session.serial.log'),
      ssh: { keyFile: key, user: 'root' },
      network: { cidr: '169.254.0.0/16', guestForwards: [forwardToHost('169.254.169.254', 80, port)] },
    });
    await guest.waitForLogin();
  });

  afterAll(async () => {
    await guest?.stop();
    metadata?.close();
  });

  it('booted the ISO: its label is on the kernel command line', async () => {
    const result = await guest.run('cat /proc/cmdline');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('root=live:CDLABEL=RANCHEROS');
  }, testTimeoutMs);

  it('finished starting: systemd says running (or degraded, naming the failed units)', async () => {
    const result = await guest.run('systemctl is-system-running --wait', { timeoutSeconds: 300 });
    const state = result.stdout.trim();
    const failed = state === 'degraded' ? (await guest.run('systemctl --failed --no-legend --plain')).stdout : '';
    expect(['running', 'degraded'], `state "${state}", failed units:\n${failed}`).toContain(state);
  }, testTimeoutMs);

  it('applied the cloud-config hostname', async () => {
    const result = await guest.run('hostname');
    expect(result).toMatchObject({ exitCode: 0, stdout: `${hostname}\n` });
  }, testTimeoutMs);

  it('passes stdin and exit codes through', async () => {
    expect(await guest.run('cat; exit 7', { input: 'from the host' })).toMatchObject({ exitCode: 7, stdout: 'from the host' });
  }, testTimeoutMs);

  it('reaches a host service at 169.254.169.254 through a guest forward, once per connection (IMDSv2 token, then data)', async () => {
    const before = requests.length;
    const result = await guest.run(
      'token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60") && ' +
        'curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id',
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: 'i-0123456789' });
    expect(requests.slice(before)).toEqual([
      { method: 'PUT', url: '/latest/api/token', token: undefined },
      { method: 'GET', url: '/latest/meta-data/instance-id', token: 'token-1' },
    ]);
  }, testTimeoutMs);

  it('reaches the host at the network\'s gateway address', async () => {
    const port = (metadata.address() as AddressInfo).port;
    expect(guest.hostAddress).toBe('169.254.2.2');
    const result = await guest.run(`curl -sf http://${guest.hostAddress}:${port}/from-gateway`);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'i-0123456789' });
    expect(requests.at(-1)).toMatchObject({ url: '/from-gateway' });
  }, testTimeoutMs);

  it('splits the boot time into bootloader, kernel, initrd and userspace with systemd\'s help', async () => {
    const times = await guest.measureBoot();
    expect(times.systemd).toBeDefined();
    expect(times.phases.map((phase) => phase.name)).toEqual(['bootloader', 'kernel', 'initrd', 'userspace']);
    expect(times.phases.every((phase) => phase.seconds > 0 && phase.complete)).toBe(true);
  }, testTimeoutMs);

  it('`ros-build boot --check` passes checks that pass and exits non-zero for one that fails', async () => {
    await guest.stop(); // one boot at a time on this machine
    const log = join(work, 'cli.serial.log');
    const result = await runCli([
      'boot', iso, '--timeout', String(bootTimeoutSeconds), '--log', log,
      '--ssh-key', key, '--ssh-user', 'root',
      '--check', `test "$(hostname)" = ${hostname}`,
      '--check', 'grep -q CDLABEL=RANCHEROS /proc/cmdline',
      '--check', 'test -e /no/such/file',
    ]);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr).toContain(`✓ check: test "$(hostname)" = ${hostname}`);
    expect(result.stderr).toContain('✓ check: grep -q CDLABEL=RANCHEROS /proc/cmdline');
    expect(result.stderr).toContain('✗ check: test -e /no/such/file (exit 1)');
    expect(result.stderr).toContain('1 of 3 checks failed');
    expect(result.stderr).toMatch(/boot phases \(serial console \+ systemd-analyze\): bootloader [\d.]+ s, kernel [\d.]+ s, initrd [\d.]+ s, userspace [\d.]+ s/);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ ok: boolean }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.ok)).toEqual([true, true, false]);
  }, testTimeoutMs);
});
