import { describe, expect, it } from 'vitest';
import { DEFAULT_PERSISTENT_PATHS, loadSpec, parseSize, parseSpec, resolvePersistentPaths } from '../../../src/spec/load.js';
import { join } from 'node:path';

const repoSpec = join(import.meta.dirname, '..', '..', '..', 'os.yaml');

describe('disk and persistence settings', () => {
  it('the shipped spec builds all seven disk formats and the default persistent paths', () => {
    const spec = loadSpec(repoSpec);
    expect(spec.disk.formats).toEqual(['raw', 'qcow2', 'vhd', 'vmdk', 'ova', 'gce', 'ami']);
    expect(spec.disk.name).toBe('rancheros-dev');
    expect(spec.persistentPaths).toEqual(DEFAULT_PERSISTENT_PATHS);
  });

  it('reads sizes in MiB and GiB, or a number of MiB', () => {
    expect(parseSize('512MiB', 'x')).toBe(512 * 2 ** 20);
    expect(parseSize('8GiB', 'x')).toBe(8 * 2 ** 30);
    expect(parseSize('1.5G', 'x')).toBe(1536 * 2 ** 20);
    expect(parseSize(64, 'x')).toBe(64 * 2 ** 20);
    expect(() => parseSize('8 gigs', 'artifacts.disk.size')).toThrow(/artifacts\.disk\.size: cannot read size "8 gigs"/);
  });

  it('refuses persistent paths that are relative or would hide the image, naming their index', () => {
    expect(() => resolvePersistentPaths(['/home', 'var/lib/x'])).toThrow(/persistence\.paths\[1\]: "var\/lib\/x" is not an absolute path/);
    for (const path of ['/', '/usr', '/usr/lib', '/boot', '/etc', '/etc/', '/bin', '/var/../usr', '/oem']) {
      expect(() => resolvePersistentPaths([path]), path).toThrow(/persistence\.paths\[0\]: .* would hide the OS image|contains "\."/);
    }
    expect(() => resolvePersistentPaths(['/var/lib/my app'])).toThrow(/persistence\.paths\[0\]: "\/var\/lib\/my app" contains white space/);
    // /var is an overlay over the image's /var, not a copy hiding it: allowed, as the default list has it.
    expect(resolvePersistentPaths(['/var', '/usr/local', '/var/lib/myapp/', '/etc//myapp'])).toEqual(['/var', '/usr/local', '/var/lib/myapp', '/etc/myapp']);
  });

  it('checks artifacts.disk against the schema', () => {
    const text = `image: { repository: rancher/os2, tag: dev }
profile: debian
profiles:
  debian:
    base: { image: debian:bookworm }
    layers: [{ name: base, context: . }]
artifacts:
  disk:
    size: lots
    partitons: {}
`;
    expect(() => parseSpec(text, 'os.yaml')).toThrow(/artifacts\.disk\.partitons: unknown key "partitons" \(did you mean "partitions"\?\)/);
  });
});
