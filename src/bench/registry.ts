import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../boot/user-net.js';

/** A real registry (Debian's docker-registry, i.e. CNCF distribution) with its own storage: for benchmarks and tests. */
export interface TestRegistry {
  host: string;
  dir: string;
  /** What the registry has printed so far (why it refused a token shows only at log level info). */
  log: () => string;
  stop: () => Promise<void>;
}


export interface RegistryOptions {
  /** A fixed port keeps image names, and so the build cache, stable. */
  port?: number;
  address?: string;
  /** Require this user and password (htpasswd, bcrypt). */
  login?: { username: string; password: string };
  /** The `auth:` block of the registry configuration as YAML lines, for other schemes (token). */
  auth?: string[];
  logLevel?: 'warn' | 'info';
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'ros-build-registry-'));
  const port = options.port ?? (await findFreePort());
  const host = `${options.address ?? '127.0.0.1'}:${port}`;
  let auth = options.auth ?? [];
  if (options.login) {
    const { stdout } = await execa('htpasswd', ['-Bbn', options.login.username, options.login.password]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    auth = ['auth:', '  htpasswd:', '    realm: ros-build-test', `    path: ${join(dir, 'htpasswd')}`];
  }
  const config = [
    'version: 0.1',
    'log:',
    `  level: ${options.logLevel ?? 'warn'}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    ...auth,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const child: ResultPromise = execa('docker-registry', ['serve', join(dir, 'config.yml')], { reject: false, all: true });
  let log = '';
  child.all?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const stop = async () => {
    child.kill('SIGTERM');
    await child;
    await rm(dir, { recursive: true, force: true });
  };
  let exited = false;
  void child.then(() => (exited = true));
  for (let i = 0; i < 100; i++) {
    // Any answer, a 401 challenge included, means it is serving.
    const up = await fetch(`http://${host}/v2/`).then(async (res) => (await res.body?.cancel(), true), () => false);
    if (up) return { host, dir, log: () => log, stop };
    if (exited) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = exited ? await child : undefined;
  await stop();
  throw new Error(result ? `docker-registry exited: ${result.shortMessage ?? ''}\n${log}` : `docker-registry did not answer on ${host} within 10 s: ${log}`);
}

/** An IPv4 address of this machine that is not loopback: a registry there is "remote" as far as the HTTP rule goes. */
export function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}
