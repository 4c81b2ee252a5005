/**
 * The cloud data sources against real HTTP: each test starts a local
 * node:http server on 127.0.0.1 that speaks the documented protocol of the
 * metadata service it stands in for, and points the source at it through
 * `endpoints`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchUserData, type DataSourceName, type ProbeOptions } from '../../../src/node/datasources/index.js';

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  remotePort: number | undefined;
}
/** An answer, or 'hang': accept the request and never answer (a black-holed metadata address). */
type Reply = { status?: number; body?: string | Buffer; headers?: Record<string, string>; delayMs?: number } | 'hang';

const servers: Server[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  timers.splice(0).forEach(clearTimeout);
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A local stand-in for a metadata service; `reply` decides each answer and every request is recorded. */
async function startServer(reply: (request: Recorded) => Reply): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const recorded: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, remotePort: req.socket.remotePort };
    requests.push(recorded);
    const answer = reply(recorded);
    if (answer === 'hang') return;
    const send = () => {
      res.writeHead(answer.status ?? 200, answer.headers);
      res.end(answer.body ?? '');
    };
    if (answer.delayMs === undefined) send();
    else timers.push(setTimeout(send, answer.delayMs));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A URL where nothing listens: a port that was free a moment ago. */
async function findClosedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Fixed answers by path (query included); anything else is a 404, as a real service answers unknown paths. */
function routes(table: Record<string, Reply>, extra: Partial<Extract<Reply, object>> = {}): (request: Recorded) => Reply {
  return (request) => {
    const answer = table[request.path];
    if (answer === undefined) return { status: 404, body: 'not found', ...extra };
    return answer === 'hang' ? answer : { ...extra, ...answer };
  };
}

function probe(names: string[], endpoints: Partial<Record<DataSourceName, string>>, timeoutMs = 500): { result: ReturnType<typeof fetchUserData>; lines: string[] } {
  const lines: string[] = [];
  // No disc in any drive: the azure source also looks for a provisioning disc, and the host's drives are not the test's.
  const cdrom = { findCdromVolumes: async () => [], findOpticalDrives: async () => [], mountReadOnly: async () => Promise.reject(new Error('no disc')) };
  const options: ProbeOptions = { timeoutMs, log: (line) => lines.push(line), endpoints, cdrom };
  return { result: fetchUserData(names, options), lines };
}

/** A stand-in OpenStack service, used as "the next source" in several tests. */
function startOpenStack(userData = '#cloud-config\nhostname: from-openstack\n', delayMs?: number) {
  return startServer(
    routes({
      '/openstack/latest/meta_data.json': { body: JSON.stringify({ hostname: 'os-host', public_keys: { mykey: 'ssh-ed25519 AAAAos os' } }), ...(delayMs === undefined ? {} : { delayMs }) },
      '/openstack/latest/user_data': { body: userData, ...(delayMs === undefined ? {} : { delayMs }) },
    }),
  );
}

/** An IMDSv2 stand-in: PUT /latest/api/token issues tok-1, tok-2 …; `valid` decides which tokens a GET accepts. */
function startImds(items: Record<string, string>, options: { tokenStatus?: number; valid?: (token: string) => boolean } = {}) {
  let issued = 0;
  return startServer((request) => {
    if (request.path === '/latest/api/token') {
      if (request.method !== 'PUT') return { status: 405 };
      if (options.tokenStatus !== undefined) return { status: options.tokenStatus, body: 'Forbidden' };
      if (request.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined) return { status: 400 };
      issued += 1;
      return { body: `tok-${issued}` };
    }
    const token = request.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !(options.valid ?? (() => true))(token)) return { status: 401 };
    const body = items[request.path];
    return body === undefined ? { status: 404 } : { body };
  });
}

const AWS_ITEMS = {
  '/latest/user-data': '#cloud-config\nhostname: from-aws\n',
  '/latest/meta-data/public-keys/': '0=alice\n1=bob',
  '/latest/meta-data/public-keys/0/openssh-key': 'ssh-ed25519 AAAAalice alice\n',
  '/latest/meta-data/public-keys/1/openssh-key': 'ssh-rsa AAAAbob bob',
  '/latest/meta-data/local-hostname': 'ip-10-0-0-7.ec2.internal\n',
};

describe('aws (IMDSv2)', () => {
  it('gets a token with a TTL, then reads user data, keys and hostname with that token', async () => {
    const imds = await startImds(AWS_ITEMS);
    const { result, lines } = probe(['aws'], { aws: imds.url });
    expect(await result).toEqual({
      source: 'aws',
      userData: '#cloud-config\nhostname: from-aws\n',
      sshKeys: ['ssh-ed25519 AAAAalice alice', 'ssh-rsa AAAAbob bob'],
      hostname: 'ip-10-0-0-7.ec2.internal',
    });
    const [first, ...rest] = imds.requests;
    expect(first).toMatchObject({ method: 'PUT', path: '/latest/api/token' });
    expect(first?.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600');
    expect(rest.length).toBeGreaterThan(0);
    for (const request of rest) expect(request).toMatchObject({ method: 'GET', headers: { 'x-aws-ec2-metadata-token': 'tok-1' } });
    expect(lines).toEqual(['data source aws: answered: user data (33 bytes), 2 SSH keys, hostname ip-10-0-0-7.ec2.internal']);
  });

  it('counts a 404 on user-data as an answer without user data; missing keys and hostname are fine', async () => {
    const imds = await startImds({});
    const { result } = probe(['aws'], { aws: imds.url });
    expect(await result).toEqual({ source: 'aws', sshKeys: [] });
  });

  it('treats a refused token (HTTP 403) as no answer, says so, and never falls back to IMDSv1', async () => {
    const imds = await startImds(AWS_ITEMS, { tokenStatus: 403 });
    const { result, lines } = probe(['aws'], { aws: imds.url });
    expect(await result).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^data source aws: token refused \(HTTP 403\)/);
    expect(imds.requests.map((request) => request.method)).toEqual(['PUT']);
  });

  it('lets the next source win after aws refused the token', async () => {
    const imds = await startImds(AWS_ITEMS, { tokenStatus: 403 });
    const openstack = await startOpenStack();
    const { result, lines } = probe(['aws', 'openstack'], { aws: imds.url, openstack: openstack.url });
    expect(await result).toMatchObject({ source: 'openstack', userData: '#cloud-config\nhostname: from-openstack\n', hostname: 'os-host', sshKeys: ['ssh-ed25519 AAAAos os'] });
    expect(lines[0]).toMatch(/^data source aws: token refused \(HTTP 403\)/);
    expect(lines[1]).toMatch(/^data source openstack: answered/);
  });

  it('renews an expired token once when a GET answers 401', async () => {
    const imds = await startImds(AWS_ITEMS, { valid: (token) => token !== 'tok-1' });
    const { result } = probe(['aws'], { aws: imds.url });
    expect(await result).toMatchObject({ source: 'aws', userData: '#cloud-config\nhostname: from-aws\n', hostname: 'ip-10-0-0-7.ec2.internal' });
    expect(imds.requests.filter((request) => request.method === 'PUT')).toHaveLength(2);
    expect(imds.requests[1]).toMatchObject({ method: 'GET', path: '/latest/user-data', headers: { 'x-aws-ec2-metadata-token': 'tok-1' } });
    expect(imds.requests.slice(3).every((request) => request.headers['x-aws-ec2-metadata-token'] === 'tok-2')).toBe(true);
  });

  it('gives up when the new token is refused too', async () => {
    const imds = await startImds(AWS_ITEMS, { valid: () => false });
    const { result, lines } = probe(['aws'], { aws: imds.url });
    expect(await result).toBeUndefined();
    expect(lines).toEqual(['data source aws: token refused on GET /latest/user-data (HTTP 401 again after a new token)']);
    expect(imds.requests.filter((request) => request.method === 'PUT')).toHaveLength(2);
  });

  it('gunzips gzip-compressed user data', async () => {
    const userData = '#cloud-config\nrun_cmd:\n  - echo compressed\n';
    const imds = await startServer((request) => (request.method === 'PUT' ? { body: 'tok' } : request.path === '/latest/user-data' ? { body: gzipSync(userData) } : { status: 404 }));
    const { result } = probe(['aws'], { aws: imds.url });
    expect(await result).toMatchObject({ source: 'aws', userData });
  });

  it('does not take a gzip header that does not gunzip as user data', async () => {
    const imds = await startServer((request) => (request.method === 'PUT' ? { body: 'tok' } : request.path === '/latest/user-data' ? { body: Buffer.from([0x1f, 0x8b, 1, 2, 3]) } : { status: 404 }));
    const { result, lines } = probe(['aws'], { aws: imds.url });
    expect(await result).toBeUndefined();
    expect(lines[0]).toMatch(/^data source aws: user data looks gzip-compressed but does not gunzip/);
  });
});

describe('probing order and budget', () => {
  it('skips sources that never answer after about one timeout in all, not one per source', async () => {
    const hangingAws = await startServer(() => 'hang');
    const hangingGcp = await startServer(() => 'hang');
    const openstack = await startOpenStack();
    const started = performance.now();
    const { result, lines } = probe(['aws', 'gcp', 'openstack'], { aws: hangingAws.url, gcp: hangingGcp.url, openstack: openstack.url }, 300);
    expect(await result).toMatchObject({ source: 'openstack' });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(550);
    expect(lines.slice(0, 2)).toEqual(['data source aws: no answer within 300 ms', 'data source gcp: no answer within 300 ms']);
  });

  it('lets the first listed source win when two answer, even if the second answers faster', async () => {
    const slow = await startOpenStack('#cloud-config\nhostname: slow\n', 150);
    const fast = await startServer(routes({ '/metadata/v1/hostname': { body: 'droplet' }, '/metadata/v1/user-data': { body: '#cloud-config\nhostname: fast\n' } }));
    const first = probe(['openstack', 'digitalocean'], { openstack: slow.url, digitalocean: fast.url });
    expect(await first.result).toMatchObject({ source: 'openstack', userData: '#cloud-config\nhostname: slow\n' });
    expect(first.lines).toHaveLength(1);
    const second = probe(['digitalocean', 'openstack'], { openstack: slow.url, digitalocean: fast.url });
    expect(await second.result).toMatchObject({ source: 'digitalocean', userData: '#cloud-config\nhostname: fast\n' });
  });

  it('returns the winner without waiting for a later source that hangs', async () => {
    const openstack = await startOpenStack();
    const hanging = await startServer(() => 'hang');
    const started = performance.now();
    const { result } = probe(['openstack', 'aws'], { openstack: openstack.url, aws: hanging.url }, 400);
    expect(await result).toMatchObject({ source: 'openstack' });
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('logs an unknown source name and skips it', async () => {
    const openstack = await startOpenStack();
    const { result, lines } = probe(['nimbus', 'OpenStack'], { openstack: openstack.url });
    expect(await result).toMatchObject({ source: 'openstack' });
    expect(lines[0]).toMatch(/^data source nimbus: unknown, skipped \(known: cdrom, aws, gcp/);
  });

  it('returns undefined without a line for an empty list, and with one line each when nothing answers', async () => {
    expect(await probe([], {}).result).toBeUndefined();
    const closed = await findClosedPort();
    const { result, lines } = probe(['openstack', 'vultr'], { openstack: closed, vultr: closed });
    expect(await result).toBeUndefined();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^data source openstack: no answer from http:\/\/127\.0\.0\.1:\d+\/openstack\/latest\/.*ECONNREFUSED/);
  });

  it('does not count another cloud answering 404 on the shared address as an answer', async () => {
    const otherCloud = await startServer(() => ({ status: 404 }));
    const { result, lines } = probe(['openstack', 'digitalocean', 'hetzner', 'vultr', 'packet', 'azure', 'gcp'], {
      openstack: otherCloud.url,
      digitalocean: otherCloud.url,
      hetzner: otherCloud.url,
      vultr: otherCloud.url,
      packet: otherCloud.url,
      azure: otherCloud.url,
      gcp: otherCloud.url,
    });
    expect(await result).toBeUndefined();
    expect(lines).toEqual([
      'data source openstack: HTTP 404 for openstack/latest/meta_data.json',
      'data source digitalocean: HTTP 404 for metadata/v1/hostname',
      'data source hetzner: HTTP 404 for hetzner/v1/metadata/hostname',
      'data source vultr: HTTP 404 for v1.json',
      'data source packet: HTTP 404 for metadata',
      'data source azure: HTTP 404 for compute/userData',
      'data source gcp: answer without "Metadata-Flavor: Google" (HTTP 404): not a GCE metadata server',
    ]);
  });

  it('survives a log callback that throws', async () => {
    const openstack = await startOpenStack();
    const result = await fetchUserData(['bogus', 'openstack'], {
      timeoutMs: 500,
      endpoints: { openstack: openstack.url },
      log: () => {
        throw new Error('broken logger');
      },
    });
    expect(result).toMatchObject({ source: 'openstack' });
  });
});

describe('the other clouds (untested on the real services here)', () => {
  it('gcp: sends and requires Metadata-Flavor: Google, keeps only the key of USER:KEY lines', async () => {
    const gcp = await startServer((request) =>
      request.headers['metadata-flavor'] !== 'Google'
        ? { status: 403 }
        : routes(
            {
              '/computeMetadata/v1/instance/attributes/user-data': { body: '#cloud-config\n' },
              '/computeMetadata/v1/instance/attributes/ssh-keys': { body: 'alice:ssh-ed25519 AAAAa alice@laptop\nbob:ssh-rsa AAAAb google-ssh {"userName":"bob@example.com"}\n' },
              '/computeMetadata/v1/instance/hostname': { body: 'vm-1.c.project.internal' },
            },
            { headers: { 'Metadata-Flavor': 'Google' } },
          )(request),
    );
    const { result } = probe(['gcp'], { gcp: gcp.url });
    expect(await result).toEqual({
      source: 'gcp',
      userData: '#cloud-config\n',
      sshKeys: ['ssh-ed25519 AAAAa alice@laptop', 'ssh-rsa AAAAb google-ssh {"userName":"bob@example.com"}'],
      hostname: 'vm-1.c.project.internal',
    });
  });

  it('azure: sends Metadata: true and decodes the base64 user data; keys and hostname from compute', async () => {
    const userData = '#cloud-config\nhostname: from-azure\n';
    const azure = await startServer((request) =>
      request.headers['metadata'] !== 'true'
        ? { status: 400 }
        : routes({
            '/metadata/instance/compute/userData?api-version=2021-01-01&format=text': { body: Buffer.from(userData).toString('base64') },
            '/metadata/instance/compute?api-version=2021-01-01': {
              body: JSON.stringify({ osProfile: { computerName: 'azvm' }, publicKeys: [{ keyData: 'ssh-rsa AAAAz az', path: '/home/azureuser/.ssh/authorized_keys' }] }),
            },
          })(request),
    );
    const { result } = probe(['azure'], { azure: azure.url });
    expect(await result).toEqual({ source: 'azure', userData, sshKeys: ['ssh-rsa AAAAz az'], hostname: 'azvm' });
  });

  it('azure: an empty userData is an answer without user data; base64 of gzip is gunzipped', async () => {
    const empty = await startServer(routes({ '/metadata/instance/compute/userData?api-version=2021-01-01&format=text': { body: '' } }));
    expect(await probe(['azure'], { azure: empty.url }).result).toEqual({ source: 'azure', sshKeys: [] });
    const zipped = await startServer(routes({ '/metadata/instance/compute/userData?api-version=2021-01-01&format=text': { body: gzipSync('#cloud-config\n').toString('base64') } }));
    expect(await probe(['azure'], { azure: zipped.url }).result).toMatchObject({ userData: '#cloud-config\n' });
  });

  it('openstack: user_data 404 is no user data when meta_data.json answers', async () => {
    const openstack = await startServer(routes({ '/openstack/latest/meta_data.json': { body: JSON.stringify({ hostname: 'nova-1', public_keys: { a: 'ssh-rsa AAAA1', b: 'ssh-rsa AAAA2' } }) } }));
    expect(await probe(['openstack'], { openstack: openstack.url }).result).toEqual({ source: 'openstack', sshKeys: ['ssh-rsa AAAA1', 'ssh-rsa AAAA2'], hostname: 'nova-1' });
  });

  it('digitalocean: keys one a line', async () => {
    const droplet = await startServer(
      routes({
        '/metadata/v1/hostname': { body: 'droplet-1' },
        '/metadata/v1/user-data': { body: '#cloud-config\n' },
        '/metadata/v1/public-keys': { body: 'ssh-ed25519 AAAA1 one\nssh-ed25519 AAAA2 two\n' },
      }),
    );
    expect(await probe(['digitalocean'], { digitalocean: droplet.url }).result).toEqual({
      source: 'digitalocean',
      userData: '#cloud-config\n',
      sshKeys: ['ssh-ed25519 AAAA1 one', 'ssh-ed25519 AAAA2 two'],
      hostname: 'droplet-1',
    });
  });

  it('hetzner: public-keys as a YAML list or a JSON list', async () => {
    for (const keys of ['- ssh-ed25519 AAAA1 one\n- "ssh-ed25519 AAAA2 two"\n', '["ssh-ed25519 AAAA1 one", "ssh-ed25519 AAAA2 two"]']) {
      const hetzner = await startServer(
        routes({
          '/hetzner/v1/userdata': { body: '#cloud-config\n' },
          '/hetzner/v1/metadata/hostname': { body: 'hcloud-1' },
          '/hetzner/v1/metadata/public-keys': { body: keys },
        }),
      );
      expect(await probe(['hetzner'], { hetzner: hetzner.url }).result).toEqual({
        source: 'hetzner',
        userData: '#cloud-config\n',
        sshKeys: ['ssh-ed25519 AAAA1 one', 'ssh-ed25519 AAAA2 two'],
        hostname: 'hcloud-1',
      });
    }
  });

  it('packet: ssh_keys and hostname from the metadata JSON', async () => {
    const metal = await startServer(
      routes({ '/metadata': { body: JSON.stringify({ hostname: 'metal-1', ssh_keys: ['ssh-rsa AAAAm metal'] }) }, '/userdata': { body: '#!/bin/sh\necho hi\n' } }),
    );
    expect(await probe(['packet'], { packet: metal.url }).result).toEqual({ source: 'packet', userData: '#!/bin/sh\necho hi\n', sshKeys: ['ssh-rsa AAAAm metal'], hostname: 'metal-1' });
  });

  it('vultr: user data from /latest/user-data, hostname and keys from /v1.json', async () => {
    const vultr = await startServer(
      routes({ '/v1.json': { body: JSON.stringify({ hostname: 'vultr-guest', 'public-keys': ['ssh-ed25519 AAAAv v'] }) }, '/latest/user-data': { body: '#cloud-config\n' } }),
    );
    expect(await probe(['vultr'], { vultr: vultr.url }).result).toEqual({ source: 'vultr', userData: '#cloud-config\n', sshKeys: ['ssh-ed25519 AAAAv v'], hostname: 'vultr-guest' });
  });

  // Binding a source port below 1024 needs root, as on a real instance.
  it.skipIf(process.getuid?.() !== 0)('scaleway: asks for user data from a source port below 1024', async () => {
    const scaleway = await startServer((request) => {
      if (request.path === '/conf?format=json') return { body: JSON.stringify({ hostname: 'scw-1', ssh_public_keys: [{ key: 'ssh-ed25519 AAAAs s', fingerprint: 'x' }] }) };
      if (request.path === '/user_data/cloud-init') return (request.remotePort ?? 65535) < 1024 ? { body: '#cloud-config\n' } : { status: 403 };
      return { status: 404 };
    });
    expect(await probe(['scaleway'], { scaleway: scaleway.url }).result).toEqual({ source: 'scaleway', userData: '#cloud-config\n', sshKeys: ['ssh-ed25519 AAAAs s'], hostname: 'scw-1' });
    const userDataRequest = scaleway.requests.find((request) => request.path === '/user_data/cloud-init');
    expect(userDataRequest?.remotePort).toBeLessThan(1024);
  });
});
