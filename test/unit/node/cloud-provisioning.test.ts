/**
 * What a cloud hands a node at first boot, read as the node reads it: the
 * OVF environments of vSphere and Azure (from a "disc" that is a directory),
 * GCE's instance and project keys, Azure's Ready report to a local stand-in
 * wireserver, and the data sources a disk's platform implies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findBootArgument, parseKernelCmdline } from '../../../src/config/cmdline.js';
import { DISK_FORMATS, platformCmdline } from '../../../src/artifacts/formats/index.js';
import { parseGoalState, renderHealth, reportToWireserver } from '../../../src/node/apply/azure-ready.js';
import { fetchUserData, type CdromAccess } from '../../../src/node/datasources/index.js';
import { platformDataSources } from '../../../src/node/datasources/platforms.js';
import { parseXml, findElement } from '../../../src/xml.js';
import { renderAzureOvfEnv, renderVsphereOvfEnv, startAzureStandIns, startGceStandIn, type StandIn } from '../../helpers/cloud-standins.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Optical drives that are directories, one file each; records mounts. */
function discs(files: Array<Record<string, string>>): CdromAccess & { mounted: string[] } {
  const dirs = files.map((entries) => {
    const dir = mkdtempSync(join(tmpdir(), 'ros-disc-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
    return dir;
  });
  const mounted: string[] = [];
  return {
    mounted,
    findCdromVolumes: async () => [],
    findOpticalDrives: async () => dirs,
    mountReadOnly: async (device) => {
      mounted.push(device);
      return { dir: device, unmount: async () => {} };
    },
  };
}

async function probe(names: string[], options: { cdrom?: CdromAccess; endpoints?: Record<string, string> } = {}) {
  const lines: string[] = [];
  const result = await fetchUserData(names, { timeoutMs: 1000, log: (line) => lines.push(line), cdrom: options.cdrom ?? discs([]), endpoints: options.endpoints });
  return { result, lines };
}

describe('the XML reader', () => {
  it('reads elements, prefixed names, attributes, entities and CDATA', () => {
    const root = parseXml('<?xml version="1.0"?>\n<!-- c --><a:Root xmlns:a="urn:x" a:id="1 &amp; 2"><b>x &lt; y &#65;&#x42;</b><c><![CDATA[<raw>]]></c><d/></a:Root>');
    expect(root.name).toBe('Root');
    expect(root.attributes).toEqual({ id: '1 & 2' });
    expect(findElement(root, 'b')?.text).toBe('x < y AB');
    expect(findElement(root, 'c')?.text).toBe('<raw>');
    expect(findElement(root, 'd')).toMatchObject({ name: 'd', children: [] });
  });

  it('refuses what is not well-formed, and any DOCTYPE, saying where', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(/not well-formed XML at offset \d+: <\/…> does not close <b>/);
    expect(() => parseXml('<a>')).toThrow(/<a> is not closed/);
    expect(() => parseXml('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/shadow">]><a>&x;</a>')).toThrow(/a DOCTYPE is not accepted/);
    expect(() => parseXml('<a>&bogus;</a>')).toThrow(/unknown entity &bogus;/);
    expect(() => parseXml('<a/><b/>')).toThrow(/content after the root element/);
  });
});

describe('the ovf source (vSphere vApp options, transport iso)', () => {
  it('reads hostname, public-keys and base64 user-data from the properties on the disc', async () => {
    const userData = '#cloud-config\nrun_cmd: ["true"]\n';
    const cdrom = discs([{ 'other.txt': 'x' }, { 'ovf-env.xml': renderVsphereOvfEnv({ hostname: 'vm-7', 'public-keys': 'ssh-ed25519 AAAA1 one\nssh-ed25519 AAAA2 two', 'user-data': Buffer.from(userData).toString('base64') }) }]);
    const { result, lines } = await probe(['ovf'], { cdrom });
    expect(result).toEqual({ source: 'ovf', userData, sshKeys: ['ssh-ed25519 AAAA1 one', 'ssh-ed25519 AAAA2 two'], hostname: 'vm-7' });
    expect(cdrom.mounted).toHaveLength(2);
    expect(lines).toEqual([`data source ovf: answered: user data (${Buffer.byteLength(userData)} bytes), 2 SSH keys, hostname vm-7`]);
  });

  it('skips user-data that is not base64, naming it, and keeps the rest', async () => {
    const cdrom = discs([{ 'OVF-ENV.XML': renderVsphereOvfEnv({ 'local-hostname': 'vm-8', 'user-data': 'not base64!' }) }]);
    const { result, lines } = await probe(['ovf'], { cdrom });
    expect(result).toEqual({ source: 'ovf', userData: undefined, sshKeys: [], hostname: 'vm-8' });
    expect(lines[0]).toMatch(/^data source ovf: .*: ovf-env\.xml: property user-data is not base64; the user data is skipped$/);
  });

  it('names the drive and the offset of a file that is not XML, and says when no drive holds one', async () => {
    const broken = discs([{ 'ovf-env.xml': '<Environment><PropertySection></Environment>' }]);
    const { result, lines } = await probe(['ovf'], { cdrom: broken });
    expect(result).toBeUndefined();
    expect(lines[0]).toMatch(/^data source ovf: \/\S+: ovf-env\.xml: not well-formed XML at offset \d+/);
    expect((await probe(['ovf'])).lines).toEqual(['data source ovf: no ovf-env.xml on an optical drive']);
  });
});

describe('the azure source: IMDS and the provisioning disc', () => {
  it('takes custom data, keys and the host name from ovf-env.xml, and IMDS keys too', async () => {
    const azure = await startAzureStandIns({ computerName: 'from-imds', publicKeys: ['ssh-rsa AAAAimds imds'] });
    closers.push(azure.close);
    const customData = '#cloud-config\nwrite_files: [{ path: /run/x, content: y }]\n';
    const cdrom = discs([{ 'ovf-env.xml': renderAzureOvfEnv({ hostname: 'from-disc', userName: 'azureuser', publicKeys: ['ssh-ed25519 AAAAdisc disc'], customData }) }]);
    const { result } = await probe(['azure'], { cdrom, endpoints: { azure: azure.imds.url } });
    expect(result).toEqual({ source: 'azure', userData: customData, sshKeys: ['ssh-ed25519 AAAAdisc disc', 'ssh-rsa AAAAimds imds'], hostname: 'from-disc' });
  });

  it('a VM from a specialized disk has no disc: IMDS alone answers', async () => {
    const azure = await startAzureStandIns({ computerName: 'special', publicKeys: ['ssh-rsa AAAAs s'], userData: '#cloud-config\n' });
    closers.push(azure.close);
    const { result } = await probe(['azure'], { endpoints: { azure: azure.imds.url } });
    expect(result).toEqual({ source: 'azure', userData: '#cloud-config\n', sshKeys: ['ssh-rsa AAAAs s'], hostname: 'special' });
  });

  it('bad custom data is skipped with its name; the keys still apply', async () => {
    const azure = await startAzureStandIns({ computerName: 'vm', publicKeys: [] });
    closers.push(azure.close);
    const env = renderAzureOvfEnv({ hostname: 'vm', userName: 'u', publicKeys: ['ssh-ed25519 AAAAk k'] }).replace('</ns1:HostName>', '</ns1:HostName><ns1:CustomData>%%%</ns1:CustomData>');
    const { result, lines } = await probe(['azure'], { cdrom: discs([{ 'ovf-env.xml': env }]), endpoints: { azure: azure.imds.url } });
    expect(result).toMatchObject({ source: 'azure', sshKeys: ['ssh-ed25519 AAAAk k'] });
    expect(result?.userData).toBeUndefined();
    expect(lines.some((line) => /CustomData is not base64; the custom data is skipped/.test(line))).toBe(true);
  });
});

describe("Azure's Ready report", () => {
  it('reads the goal state and posts Ready with its incarnation, container and instance', async () => {
    const azure = await startAzureStandIns({ computerName: 'vm', publicKeys: [] });
    closers.push(azure.close);
    const lines: string[] = [];
    expect(await reportToWireserver({ baseUrl: azure.wireserver.url, log: (line) => lines.push(line), delayMs: 1 })).toBe(true);
    expect(azure.wireserver.requests).toEqual(['GET /machine/?comp=goalstate', 'POST /machine/?comp=health']);
    const health = parseXml(azure.healthReports[0]!);
    expect(findElement(health, 'GoalStateIncarnation')?.text).toBe(azure.goalState.incarnation);
    expect(findElement(health, 'ContainerId')?.text).toBe(azure.goalState.containerId);
    expect(findElement(health, 'InstanceId')?.text).toBe(azure.goalState.instanceId);
    expect(findElement(health, 'State')?.text).toBe('Ready');
    expect(lines).toEqual(['reported Ready to the wireserver (incarnation 3)']);
  });

  it('reports a failed configuration as NotReady/ProvisioningFailed with what failed, escaped', () => {
    const xml = renderHealth({ incarnation: '1', containerId: 'c', instanceId: 'i' }, 'write_files: /etc/<x> & co');
    const health = parseXml(xml);
    expect(findElement(health, 'State')?.text).toBe('NotReady');
    expect(findElement(health, 'SubStatus')?.text).toBe('ProvisioningFailed');
    expect(findElement(health, 'Description')?.text).toBe('write_files: /etc/<x> & co');
  });

  it('gives up after its attempts when no wireserver answers, saying Azure will fail the provisioning', async () => {
    const lines: string[] = [];
    expect(await reportToWireserver({ baseUrl: 'http://127.0.0.1:9', log: (line) => lines.push(line), delayMs: 1 })).toBe(false);
    expect(lines).toEqual([expect.stringMatching(/^error: could not report Ready to the wireserver after 5 attempts: .*Azure will count the provisioning as failed$/)]);
  });

  it('names the missing field of a goal state', () => {
    expect(() => parseGoalState('<GoalState><Incarnation>1</Incarnation></GoalState>')).toThrow('the goal state has no ContainerId');
  });
});

describe('gcp keys', () => {
  let gce: StandIn;
  const keys = { instanceKeys: 'alice:ssh-ed25519 AAAAi alice\n', projectKeys: 'bob:ssh-ed25519 AAAAp bob\nalice:ssh-ed25519 AAAAi alice\n' };

  it('gives rancher the instance and the project keys, whatever their USER', async () => {
    gce = await startGceStandIn({ hostname: 'vm-1.c.p.internal', ...keys });
    closers.push(gce.close);
    expect((await probe(['gcp'], { endpoints: { gcp: gce.url } })).result).toEqual({ source: 'gcp', sshKeys: ['ssh-ed25519 AAAAi alice', 'ssh-ed25519 AAAAp bob'], hostname: 'vm-1.c.p.internal' });
  });

  it('leaves the project keys out when the instance blocks them', async () => {
    gce = await startGceStandIn({ hostname: 'vm-2', ...keys, blockProjectKeys: true });
    closers.push(gce.close);
    expect((await probe(['gcp'], { endpoints: { gcp: gce.url } })).result).toMatchObject({ sshKeys: ['ssh-ed25519 AAAAi alice'] });
  });
});

describe('data sources by platform', () => {
  it('each disk format names its platform on the kernel command line, and the node knows its sources', () => {
    const expected: Record<string, string[]> = { raw: ['cdrom'], qcow2: ['cdrom', 'openstack'], vhd: ['azure'], vmdk: ['ovf', 'cdrom'], ova: ['ovf'], gce: ['gcp'], ami: ['aws'] };
    for (const format of Object.values(DISK_FORMATS)) {
      const cmdline = platformCmdline(format, ['tty0', 'ttyS0,115200']).join(' ');
      expect(findBootArgument(cmdline, 'ros.platform')).toBe(format.name);
      expect(platformDataSources(findBootArgument(cmdline, 'ros.platform'))).toEqual(expected[format.name]);
    }
    expect(platformDataSources(undefined)).toEqual([]);
    expect(platformDataSources('toString')).toEqual([]);
  });

  it('ros.platform is a boot argument, not a setting', () => {
    expect(parseKernelCmdline('ros.platform=gce ros.hostname=a')).toEqual({ config: { hostname: 'a' }, problems: [] });
    expect(findBootArgument('ros.platform=a x "ros.platform=b"', 'ros.platform')).toBe('b');
  });
});
