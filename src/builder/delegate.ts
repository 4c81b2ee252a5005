/**
 * A host without the tools a command runs (macOS, Windows, Fedora, a locked
 * CI runner) still builds: the whole command runs in the builder image
 * through the engine, with the engine's socket and the work directory
 * bind-mounted at the same path, as `docker run … ros-build:<version>` would.
 * Said in one line; the bytes are the same (the builder e2e compares them).
 */
import type Docker from 'dockerode';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { registerCleanup } from '../cleanup.js';
import { locateTool } from '../exec/find-tool.js';
import { IN_BUILDER } from './work-mount.js';

/** The image `make builder` makes from a checkout; a release would name its version. */
export const BUILDER_IMAGE = process.env.ROS_BUILD_BUILDER_IMAGE ?? 'ros-build:dev';

/** The host tools each command runs (with DISK_BUILDER and the formats' own, which `disk` checks in detail). */
export const COMMAND_TOOLS: Readonly<Record<string, readonly string[]>> = {
  iso: ['tar2sqfs', 'xorriso', 'grub-mkimage', 'mkfs.vfat', 'mcopy'],
  disk: ['tar2sqfs', 'sgdisk', 'mkfs.ext4', 'debugfs', 'mkfs.vfat', 'mcopy', 'grub-mkimage', 'grub-editenv', 'qemu-img'],
  netboot: ['tar2sqfs', 'xorriso', 'grub-mkimage', 'mkfs.vfat', 'mcopy'],
  boot: ['qemu-system-x86_64', 'qemu-img', 'ssh'],
  push: ['skopeo'],
};

/** Environment a command reads, passed on to the builder when set. */
const PASSED_ENV = ['SOURCE_DATE_EPOCH', 'CI', 'COSIGN_PASSWORD', 'REGISTRY_USERNAME', 'REGISTRY_PASSWORD', 'ROS_SECURE_BOOT_KEY_PASSWORD', 'http_proxy', 'https_proxy', 'no_proxy'];

export async function findMissingTools(command: string, searchPath = process.env.PATH ?? ''): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of COMMAND_TOOLS[command] ?? []) if (!(await locateTool(tool, searchPath))) missing.push(tool);
  return missing;
}

/** The container that runs `args` as the builder would under `docker run -v SOCKET -v "$PWD:$PWD" -w "$PWD"`. */
export function builderContainerOptions(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, image = BUILDER_IMAGE): Docker.ContainerCreateOptions {
  const dockerHost = env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const socket = dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
  const passed = PASSED_ENV.filter((name) => env[name] !== undefined).map((name) => `${name}=${env[name]}`);
  return {
    Image: image,
    Cmd: [...args],
    WorkingDir: cwd,
    Env: socket ? passed : [...passed, `DOCKER_HOST=${dockerHost}`],
    Tty: false,
    HostConfig: {
      Binds: [...(socket ? [`${socket}:/var/run/docker.sock`] : []), `${cwd}:${cwd}`],
      AutoRemove: false,
    },
  };
}

/**
 * When `command` needs tools this host lacks and the builder image is here,
 * run the whole invocation in it and return its exit code; undefined when the
 * command runs here (tools present, inside the builder already, or no image:
 * then the usual "not found" errors name what to install).
 */
export async function delegateToBuilder(connect: () => Promise<Docker>, command: string, args: readonly string[]): Promise<number | undefined> {
  if (IN_BUILDER || process.env.ROS_BUILD_NO_BUILDER === '1') return undefined;
  const missing = await findMissingTools(command);
  if (missing.length === 0) return undefined;
  const docker = await connect();
  const found = await docker.getImage(BUILDER_IMAGE).inspect().then(() => true, () => false);
  if (!found) return undefined;
  const cwd = resolve('.');
  // Paths outside the work directory are not mounted: the builder would not find them.
  const outside = args.filter((arg) => arg.startsWith('/') && !arg.startsWith(`${cwd}/`) && arg !== cwd);
  if (outside.length > 0) {
    process.stderr.write(`ros-build: ${missing.join(', ')} not found here, and the builder image sees only ${cwd}: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside it; run from a directory that holds them, or install the tools\n`);
    return undefined;
  }
  process.stderr.write(`ros-build: ${missing.join(', ')} not found on this machine: running \`${command}\` in the builder image ${BUILDER_IMAGE}\n`);
  const container = await docker.createContainer(builderContainerOptions(args, cwd, process.env));
  const remove = () => container.remove({ force: true }).catch(() => undefined);
  const unregister = registerCleanup(remove);
  try {
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadWriteStream & Readable;
    docker.modem.demuxStream(stream, process.stdout, process.stderr);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // The attached stream ends with the container: let its last bytes reach our stdout before returning.
    await new Promise((done) => (stream.readableEnded ? done(undefined) : stream.once('end', done)));
    return StatusCode;
  } finally {
    unregister();
    await remove();
  }
}
