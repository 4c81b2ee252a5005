import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest, type GuestOptions } from '../../src/boot/guest.js';
import { forwardToHost } from '../../src/boot/user-net.js';
import { parseXml, findElement, findElements } from '../../src/xml.js';
import { runCli, specFlags } from '../helpers/cli.js';
import { renderAzureOvfEnv, renderVsphereOvfEnv, startAwsStandIn, startAzureStandIns, startGceStandIn } from '../helpers/cloud-standins.js';

// Under TCG a boot takes 60–120 s on two cores; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 900_000;

/*
 * Each cloud format as its cloud would start it: built with NO cloud-config,
 * booted once with only the cloud's stand-in giving the key (a local server
 * or disc speaking that cloud's documented protocol, reached at the cloud's
 * own addresses through qemu's guestfwd: not the cloud itself), and entered
 * over SSH as rancher with that key. One boot per cloud, each checking all it
 * can from inside.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-cloud-'));
const key = join(work, 'id_ed25519');
let publicKey = '';
/** Another user's key, given project-wide on GCE. */
let projectKey = '';
const disks: Record<string, string> = {};
const FORMATS = ['gce', 'ami', 'vhd', 'qcow2', 'ova'] as const;

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'the cloud user', '-f', key]);
  publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'project-wide', '-f', join(work, 'project_ed25519')]);
  projectKey = readFileSync(join(work, 'project_ed25519.pub'), 'utf8').trim();
  const built = await runCli(['disk', '--format', FORMATS.join(','), '--output', join(work, 'cloud'), ...specFlags()]);
  expect(built.exitCode, built.stderr).toBe(0);
  const paths = built.stdout.trim().split('\n');
  FORMATS.forEach((format, index) => (disks[format] = paths[index]!));
}, 1_800_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One boot: start, let the test look inside over SSH with the cloud's key, stop. */
async function withGuest(name: string, options: Omit<GuestOptions, 'timeoutSeconds' | 'logPath' | 'ssh'>, look: (guest: Guest, sh: (command: string) => Promise<string>) => Promise<void>): Promise<void> {
  const started = Date.now();
  const guest = await startGuest({ ...options, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, `${name}.serial.log`), ssh: { keyFile: key, user: 'rancher' } });
  try {
    await guest.waitForLogin();
    const ssh = await guest.run('true');
    expect(ssh.exitCode, ssh.stderr).toBe(0);
    process.stdout.write(`${name}: SSH as rancher with the cloud's key ${((Date.now() - started) / 1000).toFixed(1)} s after power-on (TCG)\n`);
    const sh = async (command: string) => {
      const result = await guest.run(`sudo -n sh -c '${command.replace(/'/g, `'\\''`)}'`);
      expect(result.exitCode, `${command}: ${result.stderr}`).toBe(0);
      return result.stdout.trim();
    };
    // In with the key the cloud gave, as rancher: no cloud-config was built in.
    expect((await guest.run('id -un')).stdout.trim()).toBe('rancher');
    expect(await sh('test ! -e /oem/cloud-config.yaml && echo none')).toBe('none');
    await look(guest, sh);
    expect(await sh('systemctl --failed --no-legend --plain')).toBe('');
  } finally {
    await guest.stop();
  }
}

/** An ISO 9660 disc holding `files` (path → text), labelled `label`. */
async function makeDisc(name: string, label: string, files: Record<string, string>, extra: string[] = []): Promise<string> {
  const dir = join(work, `${name}.d`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const disc = join(work, `${name}.iso`);
  await execa('genisoimage', ['-quiet', '-V', label, '-J', '-r', ...extra, '-o', disc, dir]);
  return disc;
}

const cloudConfig = (marker: string) => `#cloud-config\nwrite_files:\n  - path: /run/e2e-user-data\n    content: "${marker}"\n`;

describe('every cloud format lets the cloud\'s key in, with no cloud-config built in', () => {
  it('gce (UEFI, Secure Boot as on a Shielded VM): instance and project ssh-keys for any USER, the instance hostname and user-data from the metadata server', async () => {
    const gce = await startGceStandIn({
      hostname: 'gce-e2e.c.ros-e2e.internal',
      instanceKeys: `someone-else:${publicKey}\n`,
      projectKeys: `ops:${projectKey}\n`,
      userData: cloudConfig('from gce'),
    });
    try {
      // The tarball itself: startGuest unpacks its disk.raw, as `ros-build boot x.gce.tar.gz` does.
      await withGuest('gce', { artifact: disks.gce!, firmware: 'uefi-secure', network: { cidr: '169.254.0.0/16', guestForwards: [forwardToHost('169.254.169.254', 80, gce.port)] } }, async (_guest, sh) => {
        expect(await sh('hostname')).toBe('gce-e2e.c.ros-e2e.internal');
        expect(await sh('mokutil --sb-state')).toBe('SecureBoot enabled');
        expect(await sh('cat /run/e2e-user-data')).toBe('from gce');
        expect(await sh('cat /home/rancher/.ssh/authorized_keys')).toContain(projectKey);
        expect(await sh('journalctl -b -o cat')).toContain('data sources of the gce platform: gcp (ros.data_sources is not set)');
      });
    } finally {
      await gce.close();
    }
  }, testTimeoutMs);

  it('ami (SeaBIOS): the key and hostname from IMDSv2', async () => {
    const aws = await startAwsStandIn({ localHostname: 'ip-10-0-0-7.ec2.internal', publicKey, userData: cloudConfig('from aws') });
    try {
      await withGuest('ami', { artifact: disks.ami!, firmware: 'bios', snapshot: true, network: { cidr: '169.254.0.0/16', guestForwards: [forwardToHost('169.254.169.254', 80, aws.port)] } }, async (_guest, sh) => {
        expect(await sh('hostname')).toBe('ip-10-0-0-7.ec2.internal');
        expect(await sh('cat /run/e2e-user-data')).toBe('from aws');
        expect(await sh('cat /proc/cmdline')).toContain('nvme_core.io_timeout=4294967295');
      });
      expect(aws.requests[0]).toBe('PUT /latest/api/token');
    } finally {
      await aws.close();
    }
  }, testTimeoutMs);

  it('vhd (UEFI with Secure Boot as on Trusted Launch, a generalized image): keys, host name and custom data from the UDF provisioning disc, IMDS, and Ready reported to the wireserver', async () => {
    const azure = await startAzureStandIns({ computerName: 'from-imds', publicKeys: [] });
    const disc = await makeDisc('azure', 'rd_rdfe_stable.e2e', { 'ovf-env.xml': renderAzureOvfEnv({ hostname: 'azure-e2e', userName: 'azureuser', publicKeys: [publicKey], customData: cloudConfig('from azure') }) }, ['-udf']);
    try {
      const network = { cidr: '168.0.0.0/6', guestForwards: [forwardToHost('169.254.169.254', 80, azure.imds.port), forwardToHost('168.63.129.16', 80, azure.wireserver.port)] };
      await withGuest('vhd', { artifact: disks.vhd!, firmware: 'uefi-secure', snapshot: true, network, drives: [{ file: disc, media: 'cdrom', readonly: true }] }, async (_guest, sh) => {
        expect(await sh('hostname')).toBe('azure-e2e');
        expect(await sh('mokutil --sb-state')).toBe('SecureBoot enabled');
        expect(await sh('cat /run/e2e-user-data')).toBe('from azure');
        expect(await sh('cat /proc/cmdline')).toContain('rootdelay=300');
        // The runtime phase ends with the report; SSH may answer before it is sent.
        for (let i = 0; i < 60 && azure.healthReports.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(await sh('journalctl -b -o cat')).toContain('azure: reported Ready to the wireserver (incarnation 3)');
      });
      expect(azure.wireserver.requests.slice(0, 2)).toEqual(['GET /machine/?comp=goalstate', 'POST /machine/?comp=health']);
      const health = parseXml(azure.healthReports[0]!);
      expect(findElement(health, 'State')?.text).toBe('Ready');
      expect(findElement(health, 'GoalStateIncarnation')?.text).toBe(azure.goalState.incarnation);
      expect(findElement(health, 'ContainerId')?.text).toBe(azure.goalState.containerId);
      expect(findElement(health, 'InstanceId')?.text).toBe(azure.goalState.instanceId);
    } finally {
      await azure.close();
    }
  }, testTimeoutMs);

  it('qcow2 (SeaBIOS, OpenStack): the config drive\'s keys, hostname and user data', async () => {
    const metaData = { uuid: '9f0c1f5e-0000-4000-8000-0000000000e2', hostname: 'openstack-e2e', name: 'openstack-e2e', public_keys: { e2e: publicKey } };
    const drive = await makeDisc('config-drive', 'config-2', { 'openstack/latest/meta_data.json': JSON.stringify(metaData), 'openstack/latest/user_data': cloudConfig('from openstack') });
    await withGuest('qcow2', { artifact: disks.qcow2!, firmware: 'bios', snapshot: true, drives: [{ file: drive, media: 'cdrom', readonly: true }] }, async (_guest, sh) => {
      expect(await sh('hostname')).toBe('openstack-e2e');
      expect(await sh('cat /run/e2e-user-data')).toBe('from openstack');
    });
  }, testTimeoutMs);

  it('ova (UEFI, vSphere): descriptor, disk and manifest in order with matching digests; the OVF environment\'s properties on its CD-ROM', async () => {
    const dir = join(work, 'ova');
    mkdirSync(dir);
    const listing = (await execa('tar', ['-tf', disks.ova!])).stdout.split('\n');
    expect(listing).toEqual(['cloud.ovf', 'cloud-disk1.vmdk', 'cloud.mf']);
    await execa('tar', ['-xf', disks.ova!, '-C', dir]);
    const sha256 = (name: string) => createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
    expect(readFileSync(join(dir, 'cloud.mf'), 'utf8')).toBe(`SHA256(cloud.ovf)= ${sha256('cloud.ovf')}\nSHA256(cloud-disk1.vmdk)= ${sha256('cloud-disk1.vmdk')}\n`);
    // Well-formed (libxml2), and it names the disk file by its size and declares the properties the node reads.
    await execa('xmllint', ['--noout', join(dir, 'cloud.ovf')]);
    const envelope = parseXml(readFileSync(join(dir, 'cloud.ovf'), 'utf8'));
    expect(findElement(envelope, 'File')?.attributes).toMatchObject({ href: 'cloud-disk1.vmdk', size: String(readFileSync(join(dir, 'cloud-disk1.vmdk')).length) });
    expect(findElements(envelope, 'Property').map((p) => p.attributes.key)).toEqual(['hostname', 'public-keys', 'user-data']);
    expect(findElement(envelope, 'VirtualHardwareSection')?.attributes.transport).toBe('iso');
    const environment = await makeDisc('ovf-env', 'OVF ENV', { 'ovf-env.xml': renderVsphereOvfEnv({ hostname: 'vsphere-e2e', 'public-keys': publicKey, 'user-data': Buffer.from(cloudConfig('from vsphere')).toString('base64') }) });
    await withGuest('ova', { artifact: disks.ova!, firmware: 'uefi', drives: [{ file: environment, media: 'cdrom', readonly: true }] }, async (_guest, sh) => {
      expect(await sh('hostname')).toBe('vsphere-e2e');
      expect(await sh('cat /run/e2e-user-data')).toBe('from vsphere');
      expect(await sh('cat /proc/cmdline')).toContain('ros.platform=ova');
    });
  }, testTimeoutMs);
});
