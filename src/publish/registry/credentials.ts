import { chmod, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../errors.js';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for error messages (never the secret itself). */
  source: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export const USERNAME_ENV = 'REGISTRY_USERNAME';
export const PASSWORD_ENV = 'REGISTRY_PASSWORD';

/**
 * Credentials for `registry`, looked up as docker and CI systems do:
 * REGISTRY_USERNAME/REGISTRY_PASSWORD first (CI secrets), then the Docker
 * config ($DOCKER_CONFIG/config.json or ~/.docker/config.json) with its
 * credential helpers. Undefined means anonymous.
 */
export async function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const username = env[USERNAME_ENV];
  const password = env[PASSWORD_ENV];
  if (username && password) return { username, password, source: `${USERNAME_ENV}/${PASSWORD_ENV}` };
  if (username || password) {
    throw new UserError(`only one of ${USERNAME_ENV} and ${PASSWORD_ENV} is set`, 'set both, or neither to use the Docker config');
  }
  const configPath = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  const config = await readDockerConfig(configPath);
  if (!config) return undefined;
  const keys = registryKeys(registry);
  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean) ?? config.credsStore;
  if (helper) {
    const fromHelper = await askCredentialHelper(helper, keys[0]!);
    if (fromHelper) return fromHelper;
  }
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.identitytoken) return { username: '<token>', password: entry.identitytoken, source: configPath };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const split = decoded.indexOf(':');
      if (split > 0) return { username: decoded.slice(0, split), password: decoded.slice(split + 1), source: configPath };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, source: configPath };
  }
  return undefined;
}

/** The keys a registry may be stored under in a Docker config; Docker Hub has its historical URL. */
function registryKeys(registry: string): string[] {
  if (registry === 'docker.io') return ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io', 'registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`];
}

async function readDockerConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (error) {
    throw new UserError(`${path} is not valid JSON: ${(error as Error).message}`, 'fix or remove it (it holds registry logins)');
  }
}

async function askCredentialHelper(helper: string, server: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const result = await execa(program, ['get'], { input: server, reject: false });
  if (result.failed) {
    if ((result as { code?: string }).code === 'ENOENT') {
      throw new UserError(`the Docker config names credential helper "${helper}" but ${program} is not on PATH`, `install it or remove "${helper}" from the Docker config`);
    }
    return undefined; // the helper has nothing for this server
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(String(result.stdout)) as typeof answer;
  } catch {
    throw new UserError(`${program} answered something that is not JSON`, `check the helper: echo ${server} | ${program} get`);
  }
  if (!answer.Secret) return undefined;
  return { username: answer.Username ?? '<token>', password: answer.Secret, source: program };
}

/**
 * Write credentials as a Docker config file (mode 0600) for a tool we run
 * (skopeo --authfile, cosign via DOCKER_CONFIG), so secrets never go on argv.
 */
export async function writeDockerConfig(path: string, registry: string, credentials: Credentials): Promise<void> {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  await writeFile(path, JSON.stringify({ auths: { [registry]: { auth } } }), { mode: 0o600 });
  await chmod(path, 0o600);
}
