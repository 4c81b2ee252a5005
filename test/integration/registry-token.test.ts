/**
 * Bearer-token authentication against a real registry: Debian's
 * docker-registry (CNCF distribution 2.8) with `auth: token`, trusting a CA
 * made at test time, and a token server that checks Basic credentials, as
 * ghcr.io and Docker Hub work. A tiny FROM-scratch image is pushed through
 * the CLI (our client and skopeo both fetch tokens), and an OCI artifact
 * through RegistryClient directly.
 */
import { execa } from 'execa';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushArtifact } from '../../src/publish/artifact.js';
import { RegistryClient } from '../../src/publish/registry/client.js';
import { parseReference } from '../../src/publish/registry/reference.js';
import { runCli } from '../helpers/cli.js';
import { signToken, startTokenAuthRegistry, type TokenAuthRegistry, type TokenRequest } from '../helpers/token-server.js';
import { scratchDirs } from '../helpers/scratch.js';

// Fixed ports, used by no other test.
const REGISTRY_PORT = 5140;
const TOKEN_PORT = 5141;
const LOGIN = { username: 'builder', password: 'T0ken-Pa55-never-printed' };
const WRONG_PASSWORD = 'wrong-T0ken-secret-456';
const REPOSITORY = 'ros-build-test/tiny';
const PUSH_SCOPE = `repository:${REPOSITORY}:pull,push`;

let registry: TokenAuthRegistry;
let repo: string;
const tempDir = scratchDirs();

/** The CLI's push of the tiny image alone, into a fresh output directory so nothing stale is pushed. */
function pushArgs(): string[] {
  return ['push', '--image-only', '--retries', '2', '--repo', repo, '--tag', 'it', '--output-dir', tempDir('ros-build-token-out-')];
}

/** No credentials but the ones a test gives: an empty Docker config, and the variables cleared. */
function cliEnv(credentials?: { username: string; password: string }): Record<string, string> {
  return {
    DOCKER_CONFIG: tempDir('ros-build-token-docker-'),
    REGISTRY_USERNAME: credentials?.username ?? '',
    REGISTRY_PASSWORD: credentials?.password ?? '',
  };
}

/** The token requests made since `from`, for diagnostics and checks. */
function requestsSince(from: number): TokenRequest[] {
  return registry.requests.slice(from);
}

/** GET from the registry with plain fetch and a token we issue ourselves, independently of the code under test. */
async function registryGet(path: string, token: string | undefined, accept?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (accept) headers.accept = accept;
  return fetch(`http://${registry.host}${path}`, { headers });
}

beforeAll(async () => {
  registry = await startTokenAuthRegistry({ registryPort: REGISTRY_PORT, tokenPort: TOKEN_PORT, login: LOGIN });
  repo = `${registry.host}/${REPOSITORY}`;
  // No base image can be pulled here: one file on scratch is a complete image.
  const context = tempDir('ros-build-token-image-');
  writeFileSync(join(context, 'hello.txt'), `token auth test ${Date.now()}\n`);
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
  await execa('docker', ['build', '--quiet', '--tag', `${repo}:it`, context]);
}, 60_000);

afterAll(async () => {
  await execa('docker', ['rmi', `${repo}:it`], { reject: false });
  await registry?.stop();
});

describe('registry with token authentication', () => {
  it('demands a Bearer token and accepts only one signed by the trusted CA', async () => {
    const ping = await registryGet('/v2/', undefined);
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe(`Bearer realm="${registry.realm}",service="${registry.service}"`);

    const good = await registryGet('/v2/', registry.issueToken(LOGIN.username, []));
    expect(good.status, registry.registryLog()).toBe(200);

    // Same certificate in x5c, but signed with a key that is not its own.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const genuine = JSON.parse(Buffer.from(registry.issueToken(LOGIN.username, []).split('.')[1]!, 'base64url').toString());
    const forged = await registryGet('/v2/', signToken(genuine, { key: privateKey, x5c: registry.signer.x5c }));
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('pushes with the right credentials: both our client and skopeo get a token for the push scope', async () => {
    const from = registry.requests.length;
    const push = await runCli(pushArgs(), { env: cliEnv(LOGIN), timeoutMs: 120_000 });
    const seen = requestsSince(from);
    expect(push.exitCode, `${push.stderr}\ntoken requests: ${JSON.stringify(seen)}\n${registry.registryLog().slice(-4000)}`).toBe(0);
    const match = new RegExp(`^${repo.replace(/[.]/g, '\\.')}:it@(sha256:[a-f0-9]{64})$`).exec(push.stdout.trim());
    expect(match, push.stdout).not.toBeNull();
    const digest = match![1]!;

    const granted = seen.filter((r) => r.scopes.includes(PUSH_SCOPE) && r.user === LOGIN.username && r.authenticated && r.status === 200);
    expect(granted.every((r) => r.service === registry.service)).toBe(true);
    // One token for skopeo's upload, one for the CLI's own client (login, digest check).
    const fromSkopeo = (r: TokenRequest) => (r.userAgent ?? '').startsWith('skopeo/');
    expect(granted.some(fromSkopeo), JSON.stringify(seen)).toBe(true);
    expect(granted.some((r) => !fromSkopeo(r)), JSON.stringify(seen)).toBe(true);
    expect(seen.filter((r) => !r.authenticated), JSON.stringify(seen)).toEqual([]);

    // What the registry now serves under the tag, read back with a pull-only token of our own.
    const served = await registryGet(
      `/v2/${REPOSITORY}/manifests/it`,
      registry.issueToken(LOGIN.username, [`repository:${REPOSITORY}:pull`]),
      'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
    );
    expect(served.status).toBe(200);
    const bytes = Buffer.from(await served.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digest);

    expect(push.stdout + push.stderr).not.toContain(LOGIN.password);
  });

  it('a wrong password is a refused login of that user, without the password in the output', async () => {
    const from = registry.requests.length;
    const push = await runCli(pushArgs(), { env: cliEnv({ username: LOGIN.username, password: WRONG_PASSWORD }), timeoutMs: 120_000 });
    expect(push.exitCode, push.stderr).toBe(2);
    expect(push.stderr).toContain(`registry ${registry.host} refused the login of user "${LOGIN.username}"`);
    expect(push.stdout + push.stderr).not.toContain(WRONG_PASSWORD);
    expect(requestsSince(from)).toContainEqual(expect.objectContaining({ user: LOGIN.username, authenticated: false, status: 401, scopes: [PUSH_SCOPE] }));
  });

  it('without credentials (empty Docker config) it says a login is required', async () => {
    const from = registry.requests.length;
    const push = await runCli(pushArgs(), { env: cliEnv(), timeoutMs: 120_000 });
    expect(push.exitCode, push.stderr).toBe(2);
    expect(push.stderr).toContain(`registry ${registry.host} requires a login and no credentials were found`);
    const seen = requestsSince(from);
    expect(seen.length, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen.every((r) => r.user === undefined && r.status === 401), JSON.stringify(seen)).toBe(true);
  });

  it('RegistryClient pushes and reads back an OCI artifact with its Bearer token', async () => {
    const artifactRepo = 'ros-build-test/token-artifact';
    const dir = tempDir('ros-build-token-artifact-');
    const content = Buffer.from(`artifact pushed with a bearer token ${Date.now()}\n`);
    const path = join(dir, 'notes.txt');
    writeFileSync(path, content);
    const sha256 = createHash('sha256').update(content).digest('hex');

    const from = registry.requests.length;
    const client = await RegistryClient.connect(parseReference(`${registry.host}/${artifactRepo}:note`), {
      credentials: { ...LOGIN, source: 'the test' },
    });
    expect(requestsSince(from)).toContainEqual(
      expect.objectContaining({ scopes: [`repository:${artifactRepo}:pull,push`], user: LOGIN.username, authenticated: true, status: 200 }),
    );
    const digest = await pushArtifact(client, 'note', { path, format: 'txt', size: content.length, sha256 }, { created: '2024-01-01T00:00:00Z', version: 'note' });

    const back = await client.getManifest('note');
    expect(back?.digest).toBe(digest);
    const manifest = JSON.parse(back!.bytes.toString()) as { artifactType: string; layers: Array<{ digest: string }> };
    expect(manifest.artifactType).toBe('application/vnd.rancher.os2.txt.v1');
    expect(manifest.layers[0]!.digest).toBe(`sha256:${sha256}`);
    expect((await client.getBlob(`sha256:${sha256}`)).equals(content)).toBe(true);

    // The registry holds it: an anonymous read is refused, a token of our own reads the same bytes.
    expect((await registryGet(`/v2/${artifactRepo}/manifests/${digest}`, undefined)).status).toBe(401);
    const served = await registryGet(`/v2/${artifactRepo}/manifests/${digest}`, registry.issueToken(LOGIN.username, [`repository:${artifactRepo}:pull`]), back!.mediaType);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(back!.bytes)).toBe(true);
  });

  it('renews its token when the old one runs out during a long push', async () => {
    const artifactRepo = 'ros-build-test/token-renewal';
    const client = await RegistryClient.connect(parseReference(`${registry.host}/${artifactRepo}:note`), { credentials: { ...LOGIN, source: 'the test' } });
    // The registry allows 60 s of clock skew, so a lifetime of -55 s makes a token good for about 5 s.
    registry.tokenLifetimeSeconds = -55;
    try {
      const first = await RegistryClient.connect(parseReference(`${registry.host}/${artifactRepo}:note`), { credentials: { ...LOGIN, source: 'the test' } });
      await new Promise((r) => setTimeout(r, 7000));
      const from = registry.requests.length;
      const content = Buffer.from('pushed after the first token expired\n');
      const path = join(tempDir('ros-build-token-renewal-'), 'late.txt');
      writeFileSync(path, content);
      const sha256 = createHash('sha256').update(content).digest('hex');
      const digest = await pushArtifact(first, 'late', { path, format: 'txt', size: content.length, sha256 }, { created: '2024-01-01T00:00:00Z', version: 'late' });
      expect(requestsSince(from).length, 'no new token was fetched').toBeGreaterThan(0);
      expect((await client.getManifest('late'))?.digest).toBe(digest);
    } finally {
      registry.tokenLifetimeSeconds = 300;
    }
  });
});
