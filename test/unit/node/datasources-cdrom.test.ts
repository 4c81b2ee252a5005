/**
 * The cdrom source without devices: the NoCloud and config-2 readers on
 * temporary directories laid out like the volumes, and the probe with a
 * CdromAccess that "mounts" such a directory.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchUserData, findCdromVolumes, readConfigDriveDir, readNoCloudDir, type CdromAccess, type CdromVolume } from '../../../src/node/datasources/index.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A temporary directory holding `files` (paths relative to it). */
async function makeVolume(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ros-datasource-test-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('readNoCloudDir', () => {
  it('reads user-data, local-hostname and a public-keys list; ignores vendor-data', async () => {
    const dir = await makeVolume({
      'user-data': '#cloud-config\nhostname: a\n',
      'meta-data': 'instance-id: iid-1\nlocal-hostname: node-1\npublic-keys:\n  - ssh-ed25519 AAAA1 one\n  - ssh-rsa AAAA2 two\n',
      'vendor-data': '#cloud-config\nrun_cmd: [reboot]\n',
    });
    expect(await readNoCloudDir(dir)).toEqual({ userData: '#cloud-config\nhostname: a\n', sshKeys: ['ssh-ed25519 AAAA1 one', 'ssh-rsa AAAA2 two'], hostname: 'node-1' });
  });

  it('takes public-keys as a map or a single string too', async () => {
    const map = await makeVolume({ 'meta-data': 'public-keys:\n  laptop: ssh-ed25519 AAAA1 one\n  ci:\n    - ssh-ed25519 AAAA2 two\n' });
    expect((await readNoCloudDir(map)).sshKeys).toEqual(['ssh-ed25519 AAAA1 one', 'ssh-ed25519 AAAA2 two']);
    const single = await makeVolume({ 'meta-data': 'public-keys: ssh-ed25519 AAAA1 one\n' });
    expect(await readNoCloudDir(single)).toEqual({ userData: undefined, sshKeys: ['ssh-ed25519 AAAA1 one'] });
  });

  it('gunzips a gzip-compressed user-data', async () => {
    const dir = await makeVolume({ 'user-data': gzipSync('#cloud-config\nhostname: zipped\n'), 'meta-data': '' });
    expect((await readNoCloudDir(dir)).userData).toBe('#cloud-config\nhostname: zipped\n');
  });

  it('keeps the user data when meta-data is not YAML, and says so', async () => {
    const dir = await makeVolume({ 'user-data': '#cloud-config\n', 'meta-data': 'local-hostname: [unclosed\n' });
    const warnings: string[] = [];
    expect(await readNoCloudDir(dir, (line) => warnings.push(line))).toEqual({ userData: '#cloud-config\n', sshKeys: [] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^meta-data is not YAML/);
  });

  it('refuses a directory with neither file', async () => {
    const dir = await makeVolume({ 'README': 'not a seed' });
    await expect(readNoCloudDir(dir)).rejects.toThrow(/neither user-data nor meta-data/);
  });
});

describe('readConfigDriveDir', () => {
  it('reads openstack/latest/user_data and meta_data.json', async () => {
    const dir = await makeVolume({
      'openstack/latest/user_data': '#cloud-config\nhostname: c2\n',
      'openstack/latest/meta_data.json': JSON.stringify({ uuid: 'x', hostname: 'config-drive-host', public_keys: { mykey: 'ssh-rsa AAAAc2 c2\n' } }),
    });
    expect(await readConfigDriveDir(dir)).toEqual({ userData: '#cloud-config\nhostname: c2\n', sshKeys: ['ssh-rsa AAAAc2 c2'], hostname: 'config-drive-host' });
  });

  it('answers without user data when user_data is absent, and refuses a drive without meta_data.json', async () => {
    const noUserData = await makeVolume({ 'openstack/latest/meta_data.json': '{}' });
    expect(await readConfigDriveDir(noUserData)).toEqual({ userData: undefined, sshKeys: [] });
    const empty = await makeVolume({ 'openstack/latest/user_data': '#cloud-config\n' });
    await expect(readConfigDriveDir(empty)).rejects.toThrow(/no openstack\/latest\/meta_data\.json/);
  });
});

/** A CdromAccess whose "devices" are directories; records mounts and unmounts. */
function fakeCdrom(volumes: CdromVolume[], drives: string[] = []): CdromAccess & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    findCdromVolumes: async () => volumes,
    findOpticalDrives: async () => drives,
    mountReadOnly: async (device) => {
      events.push(`mount ${device}`);
      return { dir: device, unmount: async () => void events.push(`unmount ${device}`) };
    },
  };
}

describe('cdrom source', () => {
  it('mounts the NoCloud volume, reads it and unmounts it', async () => {
    const dir = await makeVolume({ 'user-data': '#cloud-config\n', 'meta-data': 'local-hostname: seed\n' });
    const cdrom = fakeCdrom([{ device: dir, label: 'cidata', kind: 'nocloud' }]);
    const lines: string[] = [];
    const result = await fetchUserData(['cdrom'], { timeoutMs: 500, log: (line) => lines.push(line), cdrom });
    expect(result).toEqual({ source: 'cdrom', userData: '#cloud-config\n', sshKeys: [], hostname: 'seed' });
    expect(cdrom.events).toEqual([`mount ${dir}`, `unmount ${dir}`]);
    expect(lines).toEqual(['data source cdrom: answered: user data (14 bytes), 0 SSH keys, hostname seed']);
  });

  it('unmounts a volume it cannot read and tries the next one', async () => {
    const broken = await makeVolume({ 'openstack/latest/meta_data.json': 'not json' });
    const good = await makeVolume({ 'openstack/latest/meta_data.json': JSON.stringify({ hostname: 'two' }) });
    const cdrom = fakeCdrom([
      { device: broken, label: 'config-2', kind: 'config-2' },
      { device: good, label: 'CONFIG-2', kind: 'config-2' },
    ]);
    const result = await fetchUserData(['cdrom'], { timeoutMs: 500, log: () => {}, cdrom });
    expect(result).toEqual({ source: 'cdrom', userData: undefined, sshKeys: [], hostname: 'two' });
    expect(cdrom.events).toEqual([`mount ${broken}`, `unmount ${broken}`, `mount ${good}`, `unmount ${good}`]);
  });

  it('says so when there is no volume, or mounting fails, and lets the next source try', async () => {
    const none = fakeCdrom([]);
    const lines: string[] = [];
    expect(await fetchUserData(['cdrom'], { timeoutMs: 500, log: (line) => lines.push(line), cdrom: none })).toBeUndefined();
    expect(lines).toEqual(['data source cdrom: no volume labelled cidata, CIDATA, config-2, CONFIG-2']);

    const failing: CdromAccess = {
      findCdromVolumes: async () => [{ device: '/dev/sr0', label: 'cidata', kind: 'nocloud' }],
      findOpticalDrives: async () => [],
      mountReadOnly: async () => {
        throw new Error('mount -o ro /dev/sr0 failed: permission denied');
      },
    };
    lines.length = 0;
    expect(await fetchUserData(['cdrom'], { timeoutMs: 500, log: (line) => lines.push(line), cdrom: failing })).toBeUndefined();
    expect(lines).toEqual(['data source cdrom: cidata (/dev/sr0): mount -o ro /dev/sr0 failed: permission denied']);
  });

  it('gives up on a mount that hangs after the timeout, yet still unmounts once it returns', async () => {
    const dir = await makeVolume({ 'user-data': '#cloud-config\n' });
    const events: string[] = [];
    const slow: CdromAccess = {
      findCdromVolumes: async () => [{ device: dir, label: 'cidata', kind: 'nocloud' }],
      findOpticalDrives: async () => [],
      mountReadOnly: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { dir, unmount: async () => void events.push('unmount') };
      },
    };
    const lines: string[] = [];
    const started = performance.now();
    expect(await fetchUserData(['cdrom'], { timeoutMs: 100, log: (line) => lines.push(line), cdrom: slow })).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(250);
    expect(lines).toEqual(['data source cdrom: no answer within 100 ms']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toEqual(['unmount']);
  });
});

describe('findCdromVolumes', () => {
  it('lists the labels that exist, in order, and a device under two labels once', async () => {
    const byLabel = await makeVolume({ 'sr0': '', 'vdb': '' });
    await symlink(join(byLabel, 'vdb'), join(byLabel, 'CONFIG-2'));
    await symlink(join(byLabel, 'sr0'), join(byLabel, 'cidata'));
    await symlink(join(byLabel, 'sr0'), join(byLabel, 'CIDATA'));
    expect(await findCdromVolumes(byLabel)).toEqual([
      { device: join(byLabel, 'cidata'), label: 'cidata', kind: 'nocloud' },
      { device: join(byLabel, 'CONFIG-2'), label: 'CONFIG-2', kind: 'config-2' },
    ]);
    expect(await findCdromVolumes(join(byLabel, 'missing'))).toEqual([]);
  });
});
