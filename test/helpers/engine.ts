import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A second, empty Docker engine beside the main one: proof that an image runs from registry bytes alone. */
export interface FreshEngine {
  host: string;
  docker: (args: string[]) => Promise<{ exitCode?: number; stdout: string; stderr: string }>;
  stop: () => Promise<void>;
}

// Its own bridge: with --bridge=none dockerd deletes docker0, which would cut off the main engine's containers.
const BRIDGE = 'rosbuild-it0';

export async function startFreshEngine(): Promise<FreshEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'ros-build-engine-'));
  const host = `unix://${join(dir, 'docker.sock')}`;
  await execa('ip', ['link', 'del', BRIDGE], { reject: false });
  await execa('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await execa('ip', ['addr', 'add', '10.213.77.1/24', 'dev', BRIDGE]);
  await execa('ip', ['link', 'set', BRIDGE, 'up']);
  const daemon = execa('dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
    '-H', host, '--bridge', BRIDGE, '--iptables=false', '--ip-masq=false',
  ], { reject: false, all: true });
  const docker = async (args: string[]) => {
    const r = await execa('docker', ['-H', host, ...args], { reject: false });
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  for (let i = 0; i < 60; i++) {
    if ((await docker(['version', '--format', '{{.Server.Version}}'])).exitCode === 0) break;
    if (daemon.exitCode !== null) throw new Error(`second dockerd exited: ${String((await daemon).all).slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    host,
    docker,
    stop: async () => {
      const pid = Number(await readFile(join(dir, 'docker.pid'), 'utf8').catch(() => '0'));
      if (pid) process.kill(pid, 'SIGTERM');
      await daemon;
      await execa('ip', ['link', 'del', BRIDGE], { reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
