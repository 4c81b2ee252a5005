import { describe, expect, it } from 'vitest';
import { cosignSignArgs, cosignSignBlobArgs } from '../../../src/tools/cosign.js';
import { skopeoCopyArgs, type SkopeoCopy } from '../../../src/tools/skopeo.js';

const DIGEST = 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';
const REF = `ghcr.io/rancher/os2@${DIGEST}`;

describe('skopeoCopyArgs', () => {
  const copy: SkopeoCopy = {
    source: 'docker-daemon:rancher/os2:v1',
    destination: 'docker://ghcr.io/rancher/os2:v1',
    digestFile: '/tmp/push/digest',
    destTlsVerify: true,
    retryTimes: 3,
  };

  it('copies source to destination, recording the digest, with retries and TLS verification', () => {
    expect(skopeoCopyArgs(copy)).toEqual([
      'copy',
      '--retry-times', '3',
      '--digestfile', '/tmp/push/digest',
      '--dest-tls-verify=true',
      'docker-daemon:rancher/os2:v1',
      'docker://ghcr.io/rancher/os2:v1',
    ]);
  });

  it('ends with source then destination, so options cannot be taken for them', () => {
    const args = skopeoCopyArgs({ ...copy, destAuthFile: '/tmp/push/auth.json' });
    expect(args.slice(-2)).toEqual(['docker-daemon:rancher/os2:v1', 'docker://ghcr.io/rancher/os2:v1']);
    expect(args[0]).toBe('copy');
  });

  it('passes credentials only as an auth file, never on the command line', () => {
    const args = skopeoCopyArgs({ ...copy, destAuthFile: '/tmp/push/auth.json' });
    const at = args.indexOf('--dest-authfile');
    expect(at).toBeGreaterThan(0);
    expect(args[at + 1]).toBe('/tmp/push/auth.json');
    expect(args.some((a) => /^--(dest-)?creds|^--(dest-)?password|^--(dest-)?username|^--(dest-)?registry-token/.test(a))).toBe(false);
  });

  it('has no auth file option without one', () => {
    expect(skopeoCopyArgs(copy)).not.toContain('--dest-authfile');
  });

  it('turns off TLS verification only when asked (plain HTTP registries)', () => {
    expect(skopeoCopyArgs({ ...copy, destTlsVerify: false })).toContain('--dest-tls-verify=false');
    expect(skopeoCopyArgs({ ...copy, destTlsVerify: false })).not.toContain('--dest-tls-verify=true');
    expect(skopeoCopyArgs(copy)).not.toContain('--dest-tls-verify=false');
  });

  it('passes zero retries as "0"', () => {
    const args = skopeoCopyArgs({ ...copy, retryTimes: 0 });
    expect(args[args.indexOf('--retry-times') + 1]).toBe('0');
  });
});

describe('cosignSignArgs', () => {
  it('signs with a key without uploading to the transparency log', () => {
    expect(cosignSignArgs({ reference: REF, keyPath: '/keys/cosign.key', allowHttpRegistry: false })).toEqual([
      'sign',
      '--yes',
      '--key', '/keys/cosign.key',
      '--tlog-upload=false',
      REF,
    ]);
  });

  it('signs keyless without --key and without turning the transparency log off', () => {
    const args = cosignSignArgs({ reference: REF, allowHttpRegistry: false });
    expect(args).toEqual(['sign', '--yes', REF]);
    expect(args).not.toContain('--key');
    expect(args.some((a) => a.startsWith('--tlog-upload'))).toBe(false);
  });

  it('allows a plain HTTP registry only when asked', () => {
    const http = cosignSignArgs({ reference: REF, keyPath: 'k', allowHttpRegistry: true });
    expect(http).toContain('--allow-insecure-registry');
    expect(http).toContain('--allow-http-registry');
    expect(http.at(-1)).toBe(REF);
    const https = cosignSignArgs({ reference: REF, keyPath: 'k', allowHttpRegistry: false });
    expect(https).not.toContain('--allow-insecure-registry');
    expect(https).not.toContain('--allow-http-registry');
  });
});

describe('cosignSignBlobArgs', () => {
  it('signs a file with a key, writing the signature, without the transparency log', () => {
    expect(cosignSignBlobArgs({ file: 'build/SHA256SUMS', signaturePath: 'build/SHA256SUMS.sig', keyPath: 'cosign.key' })).toEqual([
      'sign-blob',
      '--yes',
      '--key', 'cosign.key',
      '--tlog-upload=false',
      '--output-signature', 'build/SHA256SUMS.sig',
      'build/SHA256SUMS',
    ]);
  });

  it('signs keyless, writing the certificate and the bundle', () => {
    const args = cosignSignBlobArgs({
      file: 'build/SHA256SUMS',
      signaturePath: 'build/SHA256SUMS.sig',
      certificatePath: 'build/SHA256SUMS.pem',
      bundlePath: 'build/SHA256SUMS.sigstore.json',
    });
    expect(args).toEqual([
      'sign-blob',
      '--yes',
      '--output-signature', 'build/SHA256SUMS.sig',
      '--output-certificate', 'build/SHA256SUMS.pem',
      '--bundle', 'build/SHA256SUMS.sigstore.json',
      'build/SHA256SUMS',
    ]);
    expect(args).not.toContain('--key');
    expect(args.some((a) => a.startsWith('--tlog-upload'))).toBe(false);
  });
});
