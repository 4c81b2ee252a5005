import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { findCredentials } from '../../../src/publish/registry/credentials.js';

let root: string;
let configDir: string;
let binDir: string;
const savedPath = process.env.PATH;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Write $DOCKER_CONFIG/config.json; returns the env findCredentials is given (no REGISTRY_*). */
async function dockerConfig(config: unknown): Promise<NodeJS.ProcessEnv> {
  await writeFile(join(configDir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return { DOCKER_CONFIG: configDir };
}

/**
 * A fake docker-credential-<name> on PATH that records the server it was asked
 * about and answers `stdout` (exit code `code`).
 */
async function fakeHelper(name: string, stdout: string, code = 0): Promise<string> {
  const asked = join(root, `${name}.asked`);
  const script = `#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > '${asked}'\nprintf '%s' '${stdout}'\nexit ${code}\n`;
  const path = join(binDir, `docker-credential-${name}`);
  await writeFile(path, script);
  await chmod(path, 0o755);
  return asked;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ros-credentials-'));
  binDir = join(root, 'bin');
  await mkdir(binDir);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  configDir = await mkdtemp(join(root, 'docker-'));
});

afterEach(() => {
  process.env.PATH = savedPath;
});

describe('findCredentials: environment', () => {
  it('uses REGISTRY_USERNAME/REGISTRY_PASSWORD before any Docker config', async () => {
    const env = { ...(await dockerConfig({ auths: { 'ghcr.io': { auth: b64('config-user:config-pass') } } })), REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: 's3cret' };
    const found = await findCredentials('ghcr.io', env);
    expect(found).toEqual({ username: 'ci', password: 's3cret', source: 'REGISTRY_USERNAME/REGISTRY_PASSWORD' });
  });

  it('refuses only a user name or only a password, without echoing the password', async () => {
    const env = await dockerConfig({});
    await expect(findCredentials('ghcr.io', { ...env, REGISTRY_USERNAME: 'ci' })).rejects.toThrow(UserError);
    const error = await findCredentials('ghcr.io', { ...env, REGISTRY_PASSWORD: 'hunter2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/REGISTRY_USERNAME/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('findCredentials: Docker config', () => {
  it('is anonymous when there is no config.json', async () => {
    await expect(findCredentials('ghcr.io', { DOCKER_CONFIG: configDir })).resolves.toBeUndefined();
  });

  it('is anonymous when the config has nothing for the registry', async () => {
    const env = await dockerConfig({ auths: { 'quay.io': { auth: b64('u:p') } } });
    await expect(findCredentials('ghcr.io', env)).resolves.toBeUndefined();
  });

  it('decodes the base64 "user:password" auth of the registry and says where it came from', async () => {
    const env = await dockerConfig({ auths: { '127.0.0.1:5000': { auth: b64('alice:wonder') } } });
    await expect(findCredentials('127.0.0.1:5000', env)).resolves.toEqual({
      username: 'alice',
      password: 'wonder',
      source: join(configDir, 'config.json'),
    });
  });

  it('keeps every colon after the first in the password', async () => {
    const env = await dockerConfig({ auths: { 'ghcr.io': { auth: b64('bob:pa:ss:word:') } } });
    await expect(findCredentials('ghcr.io', env)).resolves.toMatchObject({ username: 'bob', password: 'pa:ss:word:' });
  });

  it('finds entries docker login wrote under an https:// URL', async () => {
    const env = await dockerConfig({ auths: { 'https://registry.example.com': { auth: b64('carol:pw') } } });
    await expect(findCredentials('registry.example.com', env)).resolves.toMatchObject({ username: 'carol', password: 'pw' });
  });

  it('uses separate username and password fields', async () => {
    const env = await dockerConfig({ auths: { 'ghcr.io': { username: 'dave', password: 'pw2' } } });
    await expect(findCredentials('ghcr.io', env)).resolves.toMatchObject({ username: 'dave', password: 'pw2' });
  });

  it('finds Docker Hub logins under their historical key https://index.docker.io/v1/', async () => {
    const env = await dockerConfig({ auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') } } });
    await expect(findCredentials('docker.io', env)).resolves.toMatchObject({ username: 'hubuser', password: 'hubpass' });
  });

  it('does not hand Docker Hub credentials to another registry', async () => {
    const env = await dockerConfig({ auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') } } });
    await expect(findCredentials('ghcr.io', env)).resolves.toBeUndefined();
  });

  it('returns an identity token as the password of "<token>"', async () => {
    const env = await dockerConfig({ auths: { 'myacr.azurecr.io': { identitytoken: 'eyJ.refresh.token' } } });
    await expect(findCredentials('myacr.azurecr.io', env)).resolves.toMatchObject({ username: '<token>', password: 'eyJ.refresh.token' });
  });

  it('refuses a config.json that is not JSON, naming the file', async () => {
    const env = await dockerConfig('{"auths": {');
    const error = await findCredentials('ghcr.io', env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain(join(configDir, 'config.json'));
    expect((error as Error).message).toMatch(/not valid JSON/);
  });
});

describe('findCredentials: credential helpers', () => {
  it('refuses a credsStore whose helper is not on PATH, naming the helper', async () => {
    process.env.PATH = binDir; // holds no docker-credential-nosuchhelper
    const env = await dockerConfig({ credsStore: 'nosuchhelper', auths: { 'ghcr.io': {} } });
    const error = await findCredentials('ghcr.io', env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain('docker-credential-nosuchhelper');
    expect((error as Error).message).toContain('"nosuchhelper"');
  });

  it('asks the credsStore helper on PATH with the server on stdin and uses its answer', async () => {
    const asked = await fakeHelper('test', '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}');
    process.env.PATH = `${binDir}${delimiter}${savedPath ?? ''}`;
    const env = await dockerConfig({ credsStore: 'test', auths: { 'ghcr.io': { auth: b64('file-user:file-pass') } } });
    await expect(findCredentials('ghcr.io', env)).resolves.toEqual({ username: 'helper-user', password: 'helper-secret', source: 'docker-credential-test' });
    expect((await readFile(asked, 'utf8')).trim()).toBe('ghcr.io');
  });

  it('asks the helper about Docker Hub by its historical URL', async () => {
    const asked = await fakeHelper('hub', '{"Username":"hubuser","Secret":"hubsecret"}');
    process.env.PATH = `${binDir}${delimiter}${savedPath ?? ''}`;
    const env = await dockerConfig({ credsStore: 'hub' });
    await expect(findCredentials('docker.io', env)).resolves.toMatchObject({ username: 'hubuser', password: 'hubsecret' });
    expect((await readFile(asked, 'utf8')).trim()).toBe('https://index.docker.io/v1/');
  });

  it('prefers the per-registry credHelpers entry to credsStore', async () => {
    await fakeHelper('perreg', '{"Username":"per-registry","Secret":"pr"}');
    await fakeHelper('store', '{"Username":"store","Secret":"st"}');
    process.env.PATH = `${binDir}${delimiter}${savedPath ?? ''}`;
    const env = await dockerConfig({ credsStore: 'store', credHelpers: { 'ghcr.io': 'perreg' } });
    await expect(findCredentials('ghcr.io', env)).resolves.toMatchObject({ username: 'per-registry', password: 'pr' });
    await expect(findCredentials('quay.io', env)).resolves.toMatchObject({ username: 'store', password: 'st' });
  });

  it('falls back to auths when the helper has nothing for the server', async () => {
    await fakeHelper('empty', 'credentials not found in native keychain', 1);
    process.env.PATH = `${binDir}${delimiter}${savedPath ?? ''}`;
    const env = await dockerConfig({ credsStore: 'empty', auths: { 'ghcr.io': { auth: b64('file-user:file-pass') } } });
    await expect(findCredentials('ghcr.io', env)).resolves.toMatchObject({ username: 'file-user', password: 'file-pass' });
  });

  it('reads a helper answer without Username as a token', async () => {
    await fakeHelper('tok', '{"Secret":"only-a-token"}');
    process.env.PATH = `${binDir}${delimiter}${savedPath ?? ''}`;
    const env = await dockerConfig({ credsStore: 'tok' });
    await expect(findCredentials('ghcr.io', env)).resolves.toMatchObject({ username: '<token>', password: 'only-a-token' });
  });
});
