/**
 * ros-build inside its builder image (builder/Dockerfile sets
 * ROS_BUILD_BUILDER=1) writes its outputs, logs and cache under the work
 * directory, so that directory must be the caller's, bind-mounted; and
 * mounted at the same path, so that paths in messages, logs and the manifest
 * mean the same on the host as here.
 */
import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { UserError } from '../errors.js';

export const IN_BUILDER = process.env.ROS_BUILD_BUILDER === '1';

export interface ContainerMount {
  Type?: string;
  Source?: string;
  Destination?: string;
}

const SAME_PATH = 'mount it at the same path: docker run -v "$PWD:$PWD" -w "$PWD" …';

/** This container's id, from the hostname file the engine bind-mounts from its own directory for it. */
export function findOwnContainerId(mountinfo: string): string | undefined {
  return /\/containers\/([0-9a-f]{64})\/hostname /.exec(mountinfo)?.[1];
}

/** Why `dir` is no place for outputs (a message), or undefined when it is the host's, at the same path. */
export function judgeWorkMount(mounts: readonly ContainerMount[], dir: string): string | undefined {
  const holding = mounts
    .filter((m) => m.Destination && (dir === m.Destination || dir.startsWith(`${m.Destination.replace(/\/$/, '')}/`)))
    .sort((a, b) => b.Destination!.length - a.Destination!.length)[0];
  if (!holding || holding.Type === 'volume' || holding.Type === 'tmpfs') {
    return `the work directory ${dir} is ${holding ? `on a ${holding.Type}` : "inside the builder's own file system"}: what ros-build writes there would be lost with the container, and the engine cannot see it; ${SAME_PATH}`;
  }
  const hostPath = holding.Source! + dir.slice(holding.Destination!.replace(/\/$/, '').length);
  if (hostPath !== dir) return `the work directory ${dir} is ${hostPath} on the host: paths in messages and in the manifest would name a place that does not exist there; ${SAME_PATH}`;
  return undefined;
}

/** Throws a UserError unless the current directory is bind-mounted from the host at the same path. */
export async function checkWorkMount(docker: Docker): Promise<void> {
  const id = findOwnContainerId(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  if (!id) return; // not a Docker container after all (another runtime): nothing to compare
  const info = await docker.getContainer(id).inspect().catch(() => undefined);
  if (!info) return;
  const problem = judgeWorkMount((info.Mounts ?? []) as ContainerMount[], process.cwd());
  if (problem) throw new UserError(problem, 'the builder reads and writes only bind-mounted host directories');
}
