import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real registry (Debian's docker-registry, i.e. CNCF distribution) with its own storage: for benchmarks and tests. */
export interface TestRegistry {
  host: string;
  dir: string;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Start a registry; with `login`, it requires that user and password (htpasswd,
 * bcrypt). A fixed `port` keeps image names, and so the build cache, stable.
 */
export async function startRegistry(options: { port?: number; address?: string; login?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  const { login } = options;
  const dir = await mkdtemp(join(tmpdir(), 'ros-build-registry-'));
  const port = options.port ?? (await freePort());
  const host = `${options.address ?? '127.0.0.1'}:${port}`;
  let auth = '';
  if (login) {
    const { stdout } = await execa('htpasswd', ['-Bbn', login.username, login.password]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    auth = `auth:\n  htpasswd:\n    realm: ros-build-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const config = `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${auth}`;
  await writeFile(join(dir, 'config.yml'), config);
  const child: ResultPromise = execa('docker-registry', ['serve', join(dir, 'config.yml')], { reject: false, all: true });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://${host}/v2/`).then(() => true, () => false);
    if (up) break;
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${String((await child).all)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    dir,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An IPv4 address of this machine that is not loopback: a registry there is "remote" as far as the HTTP rule goes. */
export function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}
