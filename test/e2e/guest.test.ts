import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * One ISO carrying a freshly made SSH key for rancher, booted once as a guest
 * session for every look inside, and once more through the CLI's --check.
 * The guest's user network is 169.254.0.0/16 so that 169.254.169.254:80, the
 * cloud metadata address, reaches an EC2-style metadata server in this test (a
 * local server speaking the IMDSv2 protocol, not AWS). The medium's config
 * lists the data sources [aws, cdrom]: at boot the server refuses the token,
 * so the NoCloud `cidata` volume attached as a CD-ROM wins; later the server
 * accepts and a rerun of the runtime phase takes aws's user data.
 */
describe('a booted guest, looked at over SSH', () => {
  const work = mkdtempSync(join(tmpdir(), 'ros-guest-'));
  const key = join(work, 'id_ed25519');
  const cloudKey = join(work, 'cloud_ed25519');
  const requests: Array<{ method: string; url: string; token?: string; ttl?: string }> = [];
  /** refuse: every token request gets 403, as when IMDS is disabled; accept: the IMDSv2 token flow. */
  let mode: 'refuse' | 'accept' = 'refuse';
  let metadata: Server;
  let iso = '';
  let guest: Guest;

  beforeAll(async () => {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build e2e', '-f', key]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'from-the-cloud', '-f', cloudKey]);
    const cloudConfig = join(work, 'cloud-config.yaml');
    writeFileSync(cloudConfig, `#cloud-config\nhostname: ${hostname}\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\nros:\n  data_sources: [aws, cdrom]\n`);
    const built = await runCli(['iso', '--cloud-config', cloudConfig, '--output', join(testOutputDir, 'guest-e2e.iso'), ...specFlags()]);
    expect(built.stderr).not.toMatch(/error:/);
    expect(built.exitCode).toBe(0);
    iso = built.stdout.trim();

    // A NoCloud seed as cloud users make it: an ISO 9660 volume labelled cidata.
    const seedDir = join(work, 'seed');
    mkdirSync(seedDir);
    writeFileSync(join(seedDir, 'meta-data'), 'instance-id: e2e-1\nlocal-hostname: from-cidata\n');
    writeFileSync(join(seedDir, 'user-data'), '#cloud-config\nwrite_files:\n  - { path: /run/e2e-cidata, content: "from cidata" }\nrun_cmd: ["echo cidata-run-cmd > /run/e2e-cidata-run"]\n');
    const seed = join(work, 'seed.iso');
    await execa('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'cidata', '-J', '-r', '-o', seed, seedDir]);

    const cloudPublicKey = readFileSync(`${cloudKey}.pub`, 'utf8').trim();
    metadata = createServer((request: IncomingMessage, response) => {
      const token = request.headers['x-aws-ec2-metadata-token'] as string | undefined;
      requests.push({ method: request.method ?? '', url: request.url ?? '', token, ttl: request.headers['x-aws-ec2-metadata-token-ttl-seconds'] as string | undefined });
      const reply = (status: number, body = '') => response.writeHead(status).end(body);
      if (request.method === 'PUT' && request.url === '/latest/api/token') return mode === 'refuse' ? reply(403) : reply(200, 'token-1');
      if (request.url?.startsWith('/latest/') && token !== 'token-1') return reply(401);
      switch (request.url) {
        case '/latest/user-data': return reply(200, '#!/bin/sh\necho "aws script as $(id -un)" > /run/e2e-aws-script\n');
        case '/latest/meta-data/public-keys/': return reply(200, '0=from-the-cloud');
        case '/latest/meta-data/public-keys/0/openssh-key': return reply(200, `${cloudPublicKey}\n`);
        case '/latest/meta-data/local-hostname': return reply(200, 'ip-10-0-0-1.ec2.internal');
        default: return reply(request.url === '/from-gateway' ? 200 : 404, 'i-0123456789');
      }
    });
    await new Promise<void>((resolveListen) => metadata.listen(0, '127.0.0.1', resolveListen));
    const port = (metadata.address() as AddressInfo).port;

    guest = await startGuest({
      artifact: iso,
      timeoutSeconds: bootTimeoutSeconds,
      logPath: join(work, 'session.serial.log'),
      ssh: { keyFile: key, user: 'rancher' },
      network: { cidr: '169.254.0.0/16', guestForwards: [forwardToHost('169.254.169.254', 80, port)] },
      drives: [{ file: seed, media: 'cdrom', readonly: true }],
    });
    await guest.waitForLogin();
  });

  afterAll(async () => {
    await guest?.stop();
    metadata?.close();
    rmSync(work, { recursive: true, force: true });
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

  it('took user data from the cidata volume when the metadata service refused the token, and said so', async () => {
    expect(requests.filter((r) => r.method === 'PUT')).toEqual([{ method: 'PUT', url: '/latest/api/token', token: undefined, ttl: '21600' }]);
    expect(requests.some((r) => r.method === 'GET')).toBe(false);
    expect((await guest.run('cat /run/e2e-cidata; echo; cat /run/e2e-cidata-run')).stdout).toBe('from cidata\ncidata-run-cmd\n');
    const log = (await guest.run('sudo journalctl -b -u ros-config-runtime --no-pager -o cat')).stdout;
    expect(log).toMatch(/data source aws: token refused \(HTTP 403\)/);
    expect(log).toMatch(/data source cdrom: answered/);
    // The medium's hostname is the user's own choice: the metadata's local-hostname does not replace it.
    expect((await guest.run('hostname')).stdout.trim()).toBe(hostname);
  }, testTimeoutMs);

  it('takes user data from the metadata service with the IMDSv2 token flow once it answers: a script, run as root, and the instance\'s key', async () => {
    mode = 'accept';
    const before = requests.length;
    const rerun = await guest.run('sudo systemctl restart ros-config-runtime');
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const seen = requests.slice(before);
    expect(seen[0]).toEqual({ method: 'PUT', url: '/latest/api/token', token: undefined, ttl: '21600' });
    const gets = seen.filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.url)).toContain('/latest/user-data');
    expect(gets.every((r) => r.token === 'token-1')).toBe(true);
    expect((await guest.run('cat /run/e2e-aws-script')).stdout).toBe('aws script as root\n');
    expect((await guest.run('cat ~/.ssh/authorized_keys')).stdout).toContain('from-the-cloud');
    // Applied twice (boot, then this rerun): the medium's key is there once.
    expect((await guest.run('grep -c "ros-build e2e" ~/.ssh/authorized_keys')).stdout).toBe('1\n');
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
});
