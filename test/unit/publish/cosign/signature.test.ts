import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptPrivateKey, generateKeyPair, readPublicKey } from '../../../../src/publish/cosign/key-file.js';
import { signPayload, verifyPayload } from '../../../../src/publish/cosign/signature.js';
import { createSimpleSigningPayload } from '../../../../src/publish/cosign/simple-signing.js';

const DIGEST = 'sha256:0e6bd0b4d2a7b2cde1f4dd9c8b8a3e7f6d2b1c0a99887766554433221100ffee';

let dir: string;
let publicKeyPem: string;
let privateKey: KeyObject;
let publicKey: KeyObject;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ros-cosign-sig-'));
  const pair = await generateKeyPair('sign-test');
  publicKeyPem = pair.publicKeyPem;
  privateKey = await decryptPrivateKey(pair.privateKeyPem, 'sign-test', 'cosign.key');
  publicKey = readPublicKey(pair.publicKeyPem, 'cosign.pub');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** openssl's own verdict on a base64 signature of `payload` by cosign.pub. */
async function opensslVerifies(payload: Buffer, signatureBase64: string): Promise<boolean> {
  await writeFile(join(dir, 'cosign.pub'), publicKeyPem);
  await writeFile(join(dir, 'payload'), payload);
  await writeFile(join(dir, 'sig.der'), Buffer.from(signatureBase64, 'base64'));
  const result = await execa('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', 'sig.der', 'payload'], { cwd: dir, reject: false });
  return result.exitCode === 0 && result.stdout.trim() === 'Verified OK';
}

describe('signPayload', () => {
  it('makes a base64 DER ECDSA-SHA256 signature that openssl verifies against cosign.pub', async () => {
    const payload = createSimpleSigningPayload('registry.example.com/rancher/os2', DIGEST);
    const signature = signPayload(privateKey, payload);
    expect(signature).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(signature, 'base64')[0]).toBe(0x30); // an ASN.1 SEQUENCE, not a raw r||s pair
    expect(await opensslVerifies(payload, signature)).toBe(true);
    // And openssl is really checking: one changed byte of the payload fails it.
    const altered = Buffer.from(payload);
    altered[altered.length - 3] = altered[altered.length - 3]! ^ 0x01;
    expect(await opensslVerifies(altered, signature)).toBe(false);
  });

  it('refuses a public key', () => {
    expect(() => signPayload(publicKey, Buffer.from('x'))).toThrow(/private key/);
  });
});

describe('verifyPayload', () => {
  const payload = Buffer.from('{"critical":{}}');

  it('accepts our signature and one made by openssl with the same key', async () => {
    expect(verifyPayload(publicKey, payload, signPayload(privateKey, payload))).toBe(true);
    await writeFile(join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(join(dir, 'blob'), payload);
    const { stdout } = await execa('openssl', ['dgst', '-sha256', '-sign', 'key.pem', 'blob'], { cwd: dir, encoding: 'buffer' });
    expect(verifyPayload(publicKey, payload, Buffer.from(stdout).toString('base64'))).toBe(true);
  });

  it('rejects a tampered payload, another key, and signatures that are not base64 DER', () => {
    const signature = signPayload(privateKey, payload);
    expect(verifyPayload(publicKey, Buffer.from('{"critical":{} }'), signature)).toBe(false);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(verifyPayload(stranger, payload, signature)).toBe(false);
    expect(verifyPayload(publicKey, payload, '')).toBe(false);
    expect(verifyPayload(publicKey, payload, signature.slice(0, -8))).toBe(false);
    // Buffer.from would skip the stray characters and verify; a signature with them is not cosign's.
    expect(verifyPayload(publicKey, payload, `${signature.slice(0, 10)}!!!!${signature.slice(10)}`)).toBe(false);
    expect(verifyPayload(publicKey, payload, Buffer.from('not a DER signature').toString('base64'))).toBe(false);
  });

  it('forgives the newline an editor adds at the end of a signature file', () => {
    expect(verifyPayload(publicKey, payload, `${signPayload(privateKey, payload)}\n`)).toBe(true);
  });
});
