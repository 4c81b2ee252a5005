import { describe, expect, it } from 'vitest';
import { builderContainerOptions, COMMAND_TOOLS, findMissingTools } from '../../../src/builder/delegate.js';
import { assessCommands, renderDiagnosis } from '../../../src/builder/doctor.js';
import { findOwnContainerId, judgeWorkMount } from '../../../src/builder/work-mount.js';
import { compareApiVersions } from '../../../src/docker/engine.js';

describe('the builder\'s work directory', () => {
  const id = 'ab'.repeat(32);
  it('finds its container from the hostname file the engine mounts for it', () => {
    const mountinfo = `611 590 0:52 / / rw,relatime - overlay overlay rw\n622 611 8:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n`;
    expect(findOwnContainerId(mountinfo)).toBe(id);
    expect(findOwnContainerId('611 590 0:52 / / rw - overlay overlay rw\n')).toBeUndefined();
  });

  it('accepts the host directory at its own path, a subdirectory of it too', () => {
    const mounts = [{ Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock' }, { Type: 'bind', Source: '/home/me/os', Destination: '/home/me/os' }];
    expect(judgeWorkMount(mounts, '/home/me/os')).toBeUndefined();
    expect(judgeWorkMount(mounts, '/home/me/os/derived')).toBeUndefined();
  });

  it('names the problem and the fix: not mounted, mounted elsewhere, a volume', () => {
    expect(judgeWorkMount([{ Type: 'bind', Source: '/home/me/os', Destination: '/home/me/os' }], '/work')).toBe(
      'the work directory /work is inside the builder\'s own file system: what ros-build writes there would be lost with the container, and the engine cannot see it; mount it at the same path: docker run -v "$PWD:$PWD" -w "$PWD" …',
    );
    expect(judgeWorkMount([{ Type: 'bind', Source: '/home/me/os', Destination: '/src' }], '/src/sub')).toBe(
      'the work directory /src/sub is /home/me/os/sub on the host: paths in messages and in the manifest would name a place that does not exist there; mount it at the same path: docker run -v "$PWD:$PWD" -w "$PWD" …',
    );
    expect(judgeWorkMount([{ Type: 'volume', Source: '/var/lib/docker/volumes/x/_data', Destination: '/work' }], '/work')).toMatch(/^the work directory \/work is on a volume:/);
    // The closest mount decides: /home/me/os inside a bind of /home.
    expect(judgeWorkMount([{ Type: 'bind', Source: '/home', Destination: '/home' }, { Type: 'bind', Source: '/elsewhere', Destination: '/home/me/os' }], '/home/me/os')).toMatch(/is \/elsewhere on the host/);
  });
});

describe('the engine\'s API version', () => {
  it('compares numerically, part by part', () => {
    expect(compareApiVersions('1.41', '1.41')).toBe(0);
    expect(compareApiVersions('1.43', '1.41')).toBe(1);
    expect(compareApiVersions('1.9', '1.41')).toBe(-1);
    expect(compareApiVersions('2', '1.41')).toBe(1);
  });
});

describe('running a command in the builder image', () => {
  it('mounts the socket and the work directory at their paths, and passes the build\'s environment only', () => {
    const options = builderContainerOptions(['iso', '--image', 'mine:v1'], '/home/me/os', { SOURCE_DATE_EPOCH: '1700000000', COSIGN_PASSWORD: 'pw', HOME: '/home/me', PATH: '/usr/bin' });
    expect(options).toMatchObject({ Image: 'ros-build:dev', Cmd: ['iso', '--image', 'mine:v1'], WorkingDir: '/home/me/os', Env: ['SOURCE_DATE_EPOCH=1700000000', 'COSIGN_PASSWORD=pw'] });
    expect(options.HostConfig?.Binds).toEqual(['/var/run/docker.sock:/var/run/docker.sock', '/home/me/os:/home/me/os']);
  });

  it('mounts the socket DOCKER_HOST names, and passes a TCP engine on instead', () => {
    expect(builderContainerOptions(['plan'], '/w', { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).HostConfig?.Binds).toEqual(['/run/user/1000/docker.sock:/var/run/docker.sock', '/w:/w']);
    const tcp = builderContainerOptions(['plan'], '/w', { DOCKER_HOST: 'tcp://10.0.0.5:2376' });
    expect(tcp.HostConfig?.Binds).toEqual(['/w:/w']);
    expect(tcp.Env).toEqual(['DOCKER_HOST=tcp://10.0.0.5:2376']);
  });

  it('finds what a command lacks on a PATH', async () => {
    expect(await findMissingTools('iso', '/nonexistent')).toEqual(expect.arrayContaining(['tar2sqfs', 'xorriso']));
    expect(await findMissingTools('config', '/nonexistent')).toEqual([]);
  });
});

describe('ros-build doctor', () => {
  const everyTool = [...new Set(Object.values(COMMAND_TOOLS).flat())];
  const without = (...absent: string[]) => new Map(everyTool.map((tool) => [tool, absent.includes(tool) ? undefined : `/usr/bin/${tool}`]));

  it('runs a command here when all its tools are here, in the builder image when some are not, and nowhere without the image', () => {
    const found = without('skopeo', 'xorriso');
    const runs = (present: boolean) => Object.fromEntries(assessCommands(found, present).map((entry) => [entry.command, entry.runs]));
    expect(runs(true)).toEqual({ iso: 'builder', disk: 'host', netboot: 'builder', boot: 'host', push: 'builder' });
    expect(runs(false)).toEqual({ iso: 'missing', disk: 'host', netboot: 'missing', boot: 'host', push: 'missing' });
  });

  it('names each tool\'s place and users, and the fix when a command cannot run', () => {
    const found = without('skopeo');
    const text = renderDiagnosis({ engine: 'Docker 20.10', builder: 'ros-build:dev not here (make builder)', found, commands: assessCommands(found, false), builderImage: 'ros-build:dev' });
    expect(text).toMatch(/^ {2}skopeo +not here +push$/m);
    expect(text).toMatch(/^ {2}tar2sqfs +\/usr\/bin\/tar2sqfs +iso disk netboot$/m);
    expect(text).toMatch(/^ {2}push +CANNOT RUN: skopeo not here and no builder image$/m);
    expect(text).toMatch(/^ {2}iso +this host$/m);
    expect(text).toContain('fix: install the tools (make setup on Debian), or make the builder image (make builder)');
  });
});
