import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec, parseSpec, resolveSpec } from '../../../src/spec/load.js';
import { closestKey } from '../../../src/validation/problems.js';
import { scratchDirs } from '../../helpers/scratch.js';

const tempDir = scratchDirs();

const repoSpec = join(import.meta.dirname, '..', '..', '..', 'os.yaml');

function minimalSpec(extra = ''): string {
  return `image: { repository: rancher/os2, tag: dev }
profile: debian
profiles:
  debian:
    base: { image: debian:bookworm }
    layers:
      - { name: base, context: images/base }
${extra}`;
}

describe('the spec', () => {
  it('accepts the repository os.yaml and resolves its layers in order', () => {
    const spec = loadSpec(repoSpec);
    expect(spec.image.ref).toBe('rancher/os2:dev');
    expect(spec.layers.map((l) => l.name)).toEqual(['base', 'framework', 'os', 'ros']);
    expect(spec.squashfs).toEqual({ compression: 'zstd', level: 3 });
    expect(spec.iso.name).toBe('rancheros-dev.iso');
  });

  it('names an unknown key with its path and the key it probably meant', () => {
    const text = minimalSpec('artifacts:\n  iso:\n    volumeLable: ROS\n');
    expect(() => parseSpec(text, 'os.yaml')).toThrow(/artifacts\.iso\.volumeLable: unknown key "volumeLable" \(did you mean "volumeLabel"\?\)/);
  });

  it('reports every problem at once, with paths into lists', () => {
    const text = minimalSpec('boot:\n  timeout: many\n  colour: red\n').replace('name: base', 'name: Base!');
    let message = '';
    try {
      parseSpec(text, 'os.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/3 problems/);
    expect(message).toContain('profiles.debian.layers[0].name');
    expect(message).toContain('boot.timeout: must be integer');
    expect(message).toContain('boot.colour: unknown key "colour"');
  });

  it('rejects a compressor it does not know, listing the ones it does', () => {
    const text = minimalSpec('artifacts:\n  squashfs:\n    dev: { compression: brotli }\n');
    expect(() => parseSpec(text, 'os.yaml')).toThrow(/artifacts\.squashfs\.dev\.compression: must be one of "zstd", "xz", "gzip", "lz4", got "brotli"/);
  });

  it('rejects duplicate keys and broken YAML with the position', () => {
    expect(() => parseSpec('image: {}\nimage: {}\n', 'os.yaml')).toThrow(/not valid YAML/);
  });

  describe('resolution', () => {
    const root = tempDir('ros-spec-');
    mkdirSync(join(root, 'images', 'base'), { recursive: true });
    writeFileSync(join(root, 'images', 'base', 'Dockerfile'), 'FROM scratch\n');
    const specPath = join(root, 'os.yaml');

    it('applies overrides over the file and picks release compression', () => {
      const spec = resolveSpec(parseSpec(minimalSpec(), specPath), specPath, { tag: 'v1.2.3', repository: 'localhost:5000/os', release: true });
      expect(spec.image.ref).toBe('localhost:5000/os:v1.2.3');
      expect(spec.os.version).toBe('v1.2.3');
      expect(spec.squashfs).toEqual({ compression: 'xz' });
      expect(spec.outputDir).toBe(join(root, 'build'));
    });

    it('names a missing build context and a missing Dockerfile', () => {
      const noContext = parseSpec(minimalSpec().replace('images/base', 'images/nope'), specPath);
      expect(() => resolveSpec(noContext, specPath)).toThrow(/layers\[0\] \(base\): build context .*images\/nope does not exist/);
      const noDockerfile = parseSpec(minimalSpec().replace('context: images/base', 'context: images/base, dockerfile: Containerfile'), specPath);
      expect(() => resolveSpec(noDockerfile, specPath)).toThrow(/no Containerfile in .*images\/base/);
    });

    it('names an unknown profile and lists the known ones', () => {
      expect(() => resolveSpec(parseSpec(minimalSpec(), specPath), specPath, { profile: 'arch' })).toThrow(/profile "arch" is not defined/);
    });

    it('refuses an invalid tag from the command line', () => {
      expect(() => resolveSpec(parseSpec(minimalSpec(), specPath), specPath, { tag: 'bad tag' })).toThrow(/image tag "bad tag" is not a valid tag/);
    });
  });

  it('suggests only keys that are close', () => {
    expect(closestKey('layer', ['layers', 'overlays'])).toBe('layers');
    expect(closestKey('zzzzzz', ['layers', 'overlays'])).toBeUndefined();
  });
});
