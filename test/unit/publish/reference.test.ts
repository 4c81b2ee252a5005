import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import {
  formatReference,
  isLoopbackRegistry,
  parseReference,
  repositoryName,
  withDigest,
  withTag,
} from '../../../src/publish/registry/reference.js';

const DIGEST = 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';
const OTHER_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** The UserError parseReference throws for `text` (fails the test if it does not throw one). */
function parseError(text: string): UserError {
  try {
    parseReference(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error(`parseReference(${JSON.stringify(text)}) did not throw`);
}

describe('parseReference: where the registry is', () => {
  it('takes a first component with a dot as the registry host', () => {
    expect(parseReference('ghcr.io/rancher/os2:v1')).toEqual({ registry: 'ghcr.io', repository: 'rancher/os2', tag: 'v1', digest: undefined });
  });

  it('takes a first component with a port as the registry host', () => {
    expect(parseReference('registry:5000/os2')).toMatchObject({ registry: 'registry:5000', repository: 'os2' });
    expect(parseReference('127.0.0.1:5000/rancher/os2:dev')).toEqual({ registry: '127.0.0.1:5000', repository: 'rancher/os2', tag: 'dev', digest: undefined });
  });

  it('takes "localhost" as the registry host, with or without a port', () => {
    expect(parseReference('localhost/os2')).toMatchObject({ registry: 'localhost', repository: 'os2' });
    expect(parseReference('localhost:5000/a/b/c:t')).toMatchObject({ registry: 'localhost:5000', repository: 'a/b/c', tag: 't' });
  });

  it('puts anything else on Docker Hub, single names under library/', () => {
    expect(parseReference('rancher/os2')).toMatchObject({ registry: 'docker.io', repository: 'rancher/os2' });
    expect(parseReference('debian')).toMatchObject({ registry: 'docker.io', repository: 'library/debian' });
    expect(parseReference('debian:bookworm')).toMatchObject({ registry: 'docker.io', repository: 'library/debian', tag: 'bookworm' });
    // a first component without '.' or ':' is a namespace, not a host
    expect(parseReference('myregistry/os2')).toMatchObject({ registry: 'docker.io', repository: 'myregistry/os2' });
  });

  it('treats a lone "localhost" (no slash) as a Docker Hub image name, as docker does', () => {
    expect(parseReference('localhost')).toMatchObject({ registry: 'docker.io', repository: 'library/localhost' });
  });

  it('puts single names under library/ when docker.io is written out', () => {
    expect(parseReference('docker.io/debian')).toMatchObject({ registry: 'docker.io', repository: 'library/debian' });
    expect(parseReference('docker.io/rancher/os2')).toMatchObject({ registry: 'docker.io', repository: 'rancher/os2' });
  });

  // BUG (src/publish/registry/reference.ts:41-42): docker normalizes the legacy host index.docker.io to
  // docker.io (and so puts single names under library/); here it is kept as a separate registry and
  // "index.docker.io/debian" becomes repository "debian", which Docker Hub does not have.
  it('treats index.docker.io as Docker Hub, as docker does', () => {
    expect(parseReference('index.docker.io/debian')).toMatchObject({ registry: 'docker.io', repository: 'library/debian' });
  });

  it('does not put single names on other registries under library/', () => {
    expect(parseReference('ghcr.io/os2')).toMatchObject({ registry: 'ghcr.io', repository: 'os2' });
  });

  it('accepts a bracketed IPv6 registry with a port', () => {
    expect(parseReference('[::1]:5000/os2:v1')).toEqual({ registry: '[::1]:5000', repository: 'os2', tag: 'v1', digest: undefined });
  });
});

describe('parseReference: tag and digest', () => {
  it('has no tag or digest when none is written', () => {
    const ref = parseReference('127.0.0.1:5000/os2');
    expect(ref.tag).toBeUndefined();
    expect(ref.digest).toBeUndefined();
  });

  it('does not take the port for a tag', () => {
    expect(parseReference('localhost:5000/os2')).toMatchObject({ registry: 'localhost:5000', repository: 'os2', tag: undefined });
  });

  it('reads a digest', () => {
    expect(parseReference(`ghcr.io/rancher/os2@${DIGEST}`)).toEqual({ registry: 'ghcr.io', repository: 'rancher/os2', tag: undefined, digest: DIGEST });
  });

  it('reads a tag and a digest together', () => {
    expect(parseReference(`127.0.0.1:5000/rancher/os2:v1.2-rc.1@${DIGEST}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'rancher/os2',
      tag: 'v1.2-rc.1',
      digest: DIGEST,
    });
  });

  it('accepts tags with upper case, underscores, dots and dashes, up to 128 characters', () => {
    expect(parseReference('os2:V1_2.3-x').tag).toBe('V1_2.3-x');
    expect(parseReference('os2:_x').tag).toBe('_x');
    const longest = `v${'x'.repeat(127)}`;
    expect(parseReference(`os2:${longest}`).tag).toBe(longest);
  });

  it('accepts repository components with the separators docker allows', () => {
    expect(parseReference('ghcr.io/my-org/os_2.x/a__b/c---d').repository).toBe('my-org/os_2.x/a__b/c---d');
  });
});

describe('parseReference: invalid references', () => {
  it('refuses a tag that starts with a dash or dot and names it', () => {
    const error = parseError('ghcr.io/os2:-bad');
    expect(error.message).toContain('"-bad"');
    expect(error.message).toContain('ghcr.io/os2:-bad');
    expect(parseError('os2:.hidden').message).toContain('".hidden"');
  });

  it('refuses a tag that is too long or has other characters', () => {
    expect(parseError(`os2:v${'x'.repeat(128)}`).message).toMatch(/is not a valid tag/);
    expect(parseError('os2:a+b').message).toContain('"a+b"');
    expect(parseError('os2:').message).toMatch(/"" is not a valid tag/);
  });

  it('refuses upper case in a repository path component and names the component', () => {
    const error = parseError('ghcr.io/Rancher/os2:v1');
    expect(error.message).toContain('"Rancher"');
    expect(parseError('MyImage').message).toContain('"MyImage"');
  });

  it('refuses empty and malformed path components', () => {
    expect(parseError('ghcr.io//os2').message).toContain('""');
    expect(parseError('ghcr.io/os2/').message).toContain('""');
    expect(parseError('ghcr.io/-os2').message).toContain('"-os2"');
    expect(parseError('ghcr.io/os2-').message).toContain('"os2-"');
    expect(parseError('ghcr.io/a...b').message).toContain('"a...b"');
    expect(parseError('').message).toMatch(/invalid image reference/);
  });

  it('refuses digests that are not lowercase sha256 with 64 hex digits, and names them', () => {
    expect(parseError('os2@sha256:abc').message).toContain('"sha256:abc"');
    expect(parseError(`os2@${DIGEST.toUpperCase()}`).message).toContain(DIGEST.toUpperCase());
    expect(parseError(`os2@sha512:${'a'.repeat(64)}`).message).toMatch(/is not a sha256 digest/);
    expect(parseError(`os2@${DIGEST}x`).message).toMatch(/is not a sha256 digest/);
    expect(parseError('os2@').message).toMatch(/is not a sha256 digest/);
  });

  it('gives a hint with an example', () => {
    expect(parseError('Bad').hint).toMatch(/e\.g\. /);
  });
});

describe('formatReference', () => {
  it.each([
    '127.0.0.1:5000/rancher/os2:dev',
    'ghcr.io/rancher/os2',
    `ghcr.io/rancher/os2@${DIGEST}`,
    `localhost:5000/a/b:v1@${DIGEST}`,
    'docker.io/library/debian:bookworm',
    '[::1]:5000/os2:v1',
  ])('writes a fully qualified reference back as it was: %s', (text) => {
    expect(formatReference(parseReference(text))).toBe(text);
  });

  it('writes Docker Hub short names in full, and that parses to the same reference', () => {
    const text = formatReference(parseReference('debian:bookworm'));
    expect(text).toBe('docker.io/library/debian:bookworm');
    expect(parseReference(text)).toEqual(parseReference('debian:bookworm'));
  });

  it('repositoryName leaves out tag and digest', () => {
    expect(repositoryName(parseReference(`127.0.0.1:5000/rancher/os2:dev@${DIGEST}`))).toBe('127.0.0.1:5000/rancher/os2');
  });
});

describe('withTag / withDigest', () => {
  const ref = parseReference(`127.0.0.1:5000/rancher/os2:dev@${DIGEST}`);

  it('withTag replaces the tag and drops the digest (which belonged to the old tag)', () => {
    const tagged = withTag(ref, 'dev-iso');
    expect(tagged).toEqual({ registry: '127.0.0.1:5000', repository: 'rancher/os2', tag: 'dev-iso' });
    expect(formatReference(tagged)).toBe('127.0.0.1:5000/rancher/os2:dev-iso');
  });

  it('withTag refuses an invalid tag with a UserError naming it', () => {
    expect(() => withTag(ref, 'bad tag')).toThrow(UserError);
    expect(() => withTag(ref, 'bad tag')).toThrow(/"bad tag"/);
    expect(() => withTag(ref, `v${'x'.repeat(128)}`)).toThrow(UserError);
  });

  it('withDigest replaces the digest and drops the tag', () => {
    const pinned = withDigest(ref, OTHER_DIGEST);
    expect(pinned).toEqual({ registry: '127.0.0.1:5000', repository: 'rancher/os2', digest: OTHER_DIGEST });
    expect(formatReference(pinned)).toBe(`127.0.0.1:5000/rancher/os2@${OTHER_DIGEST}`);
  });

  it('does not change the reference it was given', () => {
    withTag(ref, 'other');
    withDigest(ref, OTHER_DIGEST);
    expect(ref).toEqual({ registry: '127.0.0.1:5000', repository: 'rancher/os2', tag: 'dev', digest: DIGEST });
  });
});

describe('isLoopbackRegistry', () => {
  it.each(['127.0.0.1', '127.0.0.1:5000', '127.1.2.3:443', 'localhost', 'localhost:5000', '[::1]', '[::1]:5000'])('%s is on this machine', (registry) => {
    expect(isLoopbackRegistry(registry)).toBe(true);
  });

  it.each(['10.0.0.1:5000', '192.168.1.10', 'example.com', 'example.com:5000', 'docker.io', 'ghcr.io', 'localhost.example.com', '127.0.0.1.example.com', 'my-localhost:5000', '[::2]:5000'])(
    '%s is not',
    (registry) => {
      expect(isLoopbackRegistry(registry)).toBe(false);
    },
  );
});
