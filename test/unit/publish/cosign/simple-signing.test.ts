import { describe, expect, it } from 'vitest';
import { cosignDockerReference, createSimpleSigningPayload, parseSimpleSigningPayload } from '../../../../src/publish/cosign/simple-signing.js';

const DIGEST = 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';

describe('createSimpleSigningPayload', () => {
  it('writes exactly the bytes cosign signs: struct field order, no spaces, "optional":null', () => {
    expect(createSimpleSigningPayload('index.docker.io/rancher/os2', DIGEST).toString('utf8')).toBe(
      '{"critical":{"identity":{"docker-reference":"index.docker.io/rancher/os2"},' +
        '"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},' +
        '"type":"cosign container image signature"},"optional":null}',
    );
  });

  it('keeps a registry port and a claimed tag as given', () => {
    const payload = createSimpleSigningPayload('localhost:5000/os/rancher:v1.0', DIGEST).toString('utf8');
    expect(payload).toContain('"docker-reference":"localhost:5000/os/rancher:v1.0"');
  });

  it('refuses references and digests that are not what cosign would sign', () => {
    expect(() => createSimpleSigningPayload(`index.docker.io/rancher/os2@${DIGEST}`, DIGEST)).toThrow(/not a docker reference/);
    expect(() => createSimpleSigningPayload('index.docker.io/Rancher/OS2', DIGEST)).toThrow(/not a docker reference/);
    expect(() => createSimpleSigningPayload('', DIGEST)).toThrow(/not a docker reference/);
    expect(() => createSimpleSigningPayload('a/b"c', DIGEST)).toThrow(/not a docker reference/);
    expect(() => createSimpleSigningPayload('ghcr.io/o/r', 'sha256:abc')).toThrow(/not a manifest digest/);
    expect(() => createSimpleSigningPayload('ghcr.io/o/r', DIGEST.toUpperCase())).toThrow(/not a manifest digest/);
  });
});

describe('cosignDockerReference', () => {
  it('spells repositories out as cosign does: registry host included, Docker Hub in full', () => {
    expect(cosignDockerReference('rancher/os2')).toBe('index.docker.io/rancher/os2');
    expect(cosignDockerReference('debian')).toBe('index.docker.io/library/debian');
    expect(cosignDockerReference('docker.io/library/debian')).toBe('index.docker.io/library/debian');
    expect(cosignDockerReference('docker.io/debian')).toBe('index.docker.io/library/debian');
    expect(cosignDockerReference('ghcr.io/rancher/os2')).toBe('ghcr.io/rancher/os2');
    expect(cosignDockerReference('localhost:5000/os2')).toBe('localhost:5000/os2');
    expect(cosignDockerReference('localhost/os2')).toBe('localhost/os2');
    expect(cosignDockerReference('192.168.64.2:5000/cosign-signed-single-sample')).toBe('192.168.64.2:5000/cosign-signed-single-sample');
  });
});

describe('parseSimpleSigningPayload', () => {
  it('reads back what createSimpleSigningPayload wrote', () => {
    const bytes = createSimpleSigningPayload('ghcr.io/rancher/os2', DIGEST);
    expect(parseSimpleSigningPayload(bytes)).toEqual({ dockerReference: 'ghcr.io/rancher/os2', manifestDigest: DIGEST });
  });

  it('returns cosign -a annotations from "optional"', () => {
    const bytes = Buffer.from(JSON.stringify({
      critical: { identity: { 'docker-reference': 'ghcr.io/rancher/os2' }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' },
      optional: { GIT_HASH: 'abc123' },
    }));
    expect(parseSimpleSigningPayload(bytes).annotations).toEqual({ GIT_HASH: 'abc123' });
  });

  it('refuses payloads that are not cosign image signatures, saying what is wrong', () => {
    const valid = JSON.parse(createSimpleSigningPayload('ghcr.io/rancher/os2', DIGEST).toString('utf8'));
    const variant = (edit: (document: any) => void) => {
      const document = structuredClone(valid);
      edit(document);
      return Buffer.from(JSON.stringify(document));
    };
    expect(() => parseSimpleSigningPayload(Buffer.from('not json'))).toThrow('the signature payload is not JSON');
    expect(() => parseSimpleSigningPayload(variant((d) => (d.critical.type = 'atomic container signature')))).toThrow(
      'the signature payload is of type "atomic container signature", not "cosign container image signature"',
    );
    expect(() => parseSimpleSigningPayload(variant((d) => delete d.critical.identity))).toThrow(/docker-reference/);
    expect(() => parseSimpleSigningPayload(variant((d) => (d.critical.image['docker-manifest-digest'] = 'latest')))).toThrow(/not a digest/);
    expect(() => parseSimpleSigningPayload(variant((d) => (d.optional = ['x'])))).toThrow(/"optional"/);
    expect(() => parseSimpleSigningPayload(Buffer.from('[]'))).toThrow(/of type undefined/);
  });
});
