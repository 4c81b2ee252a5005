import { createPrivateKey, createPublicKey, generateKeyPairSync, scryptSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/errors.js';
import { checkKeyPairAbsent, decryptPrivateKey, generateKeyPair, readPublicKey, writeKeyPair } from '../../../../src/publish/cosign/key-file.js';

const PASSPHRASE = 'Tr0ub4dor&3-unit-test';

// One scrypt-protected pair for the read-only tests: each derivation takes ~100 ms.
const pair = await generateKeyPair(PASSPHRASE);

function pemParts(pem: string): { label: string; lines: string[]; body: Buffer } {
  const lines = pem.trimEnd().split('\n');
  const label = /^-----BEGIN (.+)-----$/.exec(lines[0] ?? '')?.[1] ?? '';
  expect(lines.at(-1)).toBe(`-----END ${label}-----`);
  const bodyLines = lines.slice(1, -1);
  return { label, lines: bodyLines, body: Buffer.from(bodyLines.join(''), 'base64') };
}

function toPem(label: string, body: Buffer | string): string {
  const base64 = Buffer.from(body).toString('base64');
  return `-----BEGIN ${label}-----\n${(base64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;
}

/** The private key's JSON, changed by `edit`, sealed back into a PEM. */
function editEnvelope(edit: (envelope: Record<string, any>) => void, label = 'ENCRYPTED SIGSTORE PRIVATE KEY'): string {
  const envelope = JSON.parse(pemParts(pair.privateKeyPem).body.toString('utf8')) as Record<string, any>;
  edit(envelope);
  return toPem(label, JSON.stringify(envelope));
}

/** Encrypt arbitrary key material the way go-securesystemslib does, independently of the module. */
function sealWithPassphrase(plaintext: Buffer, passphrase: string): string {
  const salt = Buffer.alloc(32, 7);
  const nonce = Buffer.alloc(24, 9);
  const key = scryptSync(passphrase, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  const ciphertext = nacl.secretbox(plaintext, nonce, key);
  const envelope = { kdf: { name: 'scrypt', params: { N: 32768, r: 8, p: 1 }, salt: salt.toString('base64') }, cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') }, ciphertext: Buffer.from(ciphertext).toString('base64') };
  return toPem('ENCRYPTED SIGSTORE PRIVATE KEY', JSON.stringify(envelope));
}

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('the encrypted private key file', () => {
  it('is one PEM block with cosign 2.x\'s label, 64-character lines and a final newline', () => {
    const { label, lines } = pemParts(pair.privateKeyPem);
    expect(label).toBe('ENCRYPTED SIGSTORE PRIVATE KEY');
    expect(pair.privateKeyPem.endsWith('-----\n')).toBe(true);
    expect(lines.slice(0, -1).every((line) => line.length === 64)).toBe(true);
    expect(lines.at(-1)!.length).toBeLessThanOrEqual(64);
  });

  it('holds the go-securesystemslib JSON cosign expects: fields in order, scrypt N=32768 r=8 p=1, 32-byte salt, 24-byte nonce', () => {
    const text = pemParts(pair.privateKeyPem).body.toString('utf8');
    const envelope = JSON.parse(text);
    // Compact, as Go's json.Marshal writes it, with keys in struct order.
    expect(JSON.stringify(envelope)).toBe(text);
    expect(Object.keys(envelope)).toEqual(['kdf', 'cipher', 'ciphertext']);
    expect(Object.keys(envelope.kdf)).toEqual(['name', 'params', 'salt']);
    expect(envelope.kdf.name).toBe('scrypt');
    expect(text).toContain('"params":{"N":32768,"r":8,"p":1}');
    expect(envelope.cipher).toEqual({ name: 'nacl/secretbox', nonce: expect.any(String) });
    for (const [value, bytes] of [[envelope.kdf.salt, 32], [envelope.cipher.nonce, 24]] as const) {
      // Standard, padded base64, as Go encodes []byte.
      expect(Buffer.from(value, 'base64').length).toBe(bytes);
      expect(Buffer.from(value, 'base64').toString('base64')).toBe(value);
    }
  });

  it('decrypts, with scrypt and secretbox done independently here, to the PKCS#8 DER of an ECDSA P-256 key', () => {
    const envelope = JSON.parse(pemParts(pair.privateKeyPem).body.toString('utf8'));
    const key = scryptSync(PASSPHRASE, Buffer.from(envelope.kdf.salt, 'base64'), 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const plaintext = nacl.secretbox.open(Buffer.from(envelope.ciphertext, 'base64'), Buffer.from(envelope.cipher.nonce, 'base64'), key);
    expect(plaintext).not.toBeNull();
    const privateKey = createPrivateKey({ key: Buffer.from(plaintext!), format: 'der', type: 'pkcs8' });
    expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPublicKey(privateKey).export({ format: 'pem', type: 'spki' })).toBe(pair.publicKeyPem);
  });
});

describe('decryptPrivateKey', () => {
  it('opens the key with the right passphrase; it is the private half of cosign.pub', async () => {
    const privateKey = await decryptPrivateKey(pair.privateKeyPem, PASSPHRASE, 'cosign.key');
    expect(privateKey.type).toBe('private');
    expect(createPublicKey(privateKey).equals(readPublicKey(pair.publicKeyPem, 'cosign.pub'))).toBe(true);
  });

  it('refuses a wrong passphrase naming the file and COSIGN_PASSWORD, never echoing the passphrase', async () => {
    const tried = 'not-the-Passphrase-42';
    const error = await rejection(decryptPrivateKey(pair.privateKeyPem, tried, 'keys/cosign.key'));
    expect(error.message).toBe('wrong passphrase for keys/cosign.key');
    expect(error.hint).toContain('COSIGN_PASSWORD');
    for (const secret of [tried, PASSPHRASE]) expect(`${error.message} ${error.hint}`).not.toContain(secret);
  });

  it('refuses a key whose ciphertext was altered, even with the right passphrase', async () => {
    const tampered = editEnvelope((envelope) => {
      const bytes = Buffer.from(envelope.ciphertext, 'base64');
      bytes[40] = bytes[40]! ^ 0x01;
      envelope.ciphertext = bytes.toString('base64');
    });
    await rejection(decryptPrivateKey(tampered, PASSPHRASE, 'cosign.key'));
  });

  it('reads keys written by cosign 1.x under the ENCRYPTED COSIGN PRIVATE KEY label', async () => {
    const legacy = editEnvelope(() => {}, 'ENCRYPTED COSIGN PRIVATE KEY');
    expect((await decryptPrivateKey(legacy, PASSPHRASE, 'old.key')).asymmetricKeyType).toBe('ec');
  });

  it('refuses scrypt parameters go-securesystemslib would not accept, before deriving anything', async () => {
    const costly = editEnvelope((envelope) => {
      envelope.kdf.params.N = 2 ** 24;
    });
    const started = Date.now();
    const error = await rejection(decryptPrivateKey(costly, PASSPHRASE, 'cosign.key'));
    expect(error.message).toContain('unsupported scrypt parameters');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('says what it found when the file is not an encrypted cosign key', async () => {
    expect((await rejection(decryptPrivateKey('hello', PASSPHRASE, 'x.key'))).message).toBe('x.key is not a cosign private key: it holds no PEM block');
    expect((await rejection(decryptPrivateKey(pair.publicKeyPem, PASSPHRASE, 'cosign.pub'))).message).toBe('cosign.pub is a public key, not a cosign private key');
    const plainPkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const unencrypted = await rejection(decryptPrivateKey(plainPkcs8, PASSPHRASE, 'plain.key'));
    expect(unencrypted.message).toBe('plain.key is an unencrypted "PRIVATE KEY", not a cosign private key');
    expect(unencrypted.hint).toContain('cosign import-key-pair');
    const notJson = await rejection(decryptPrivateKey(toPem('ENCRYPTED SIGSTORE PRIVATE KEY', 'not json'), PASSPHRASE, 'broken.key'));
    expect(notJson.message).toBe('broken.key is not a valid encrypted cosign key: its PEM body is not JSON');
    const otherCipher = editEnvelope((envelope) => {
      envelope.cipher.name = 'aes-gcm';
    });
    expect((await rejection(decryptPrivateKey(otherCipher, PASSPHRASE, 'cosign.key'))).message).toContain('unknown cipher "aes-gcm"');
  });

  it('refuses a correctly encrypted key that is not ECDSA P-256', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const sealed = sealWithPassphrase(p384, 'pw');
    // The sealing helper itself is right: the same code path opens a P-256 key.
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    expect((await decryptPrivateKey(sealWithPassphrase(p256, 'pw'), 'pw', 'ok.key')).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect((await rejection(decryptPrivateKey(sealed, 'pw', 'p384.key'))).message).toBe('p384.key holds an EC secp384r1 key; only ECDSA P-256 keys (cosign\'s default) are supported');
  });

  it('accepts the empty passphrase, as cosign does', async () => {
    const empty = await generateKeyPair('');
    expect((await decryptPrivateKey(empty.privateKeyPem, '', 'cosign.key')).type).toBe('private');
    await rejection(decryptPrivateKey(empty.privateKeyPem, ' ', 'cosign.key'));
  });
});

describe('readPublicKey', () => {
  it('reads cosign.pub as an EC P-256 public key', () => {
    const key = readPublicKey(pair.publicKeyPem, 'cosign.pub');
    expect(key.type).toBe('public');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(pemParts(pair.publicKeyPem).label).toBe('PUBLIC KEY');
  });

  it('refuses anything else, saying what it is', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(() => readPublicKey(p384, 'a.pub')).toThrow(/a\.pub holds an EC secp384r1 key/);
    expect(() => readPublicKey(rsa, 'b.pub')).toThrow(/b\.pub holds a rsa key/);
    expect(() => readPublicKey(pair.privateKeyPem, 'cosign.key')).toThrow('cosign.key is a private key, not a public key');
    expect(() => readPublicKey('garbage', 'c.pub')).toThrow(UserError);
  });
});

describe('writeKeyPair', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ros-cosign-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes <prefix>.key readable by its owner only and <prefix>.pub readable by all, and nothing else', async () => {
    const prefix = join(dir, 'signing');
    const paths = await writeKeyPair(prefix, PASSPHRASE);
    expect(paths).toEqual({ privateKeyPath: `${prefix}.key`, publicKeyPath: `${prefix}.pub` });
    expect((await stat(paths.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.publicKeyPath)).mode & 0o777).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual(['signing.key', 'signing.pub']);
    const privateKey = await decryptPrivateKey(await readFile(paths.privateKeyPath, 'utf8'), PASSPHRASE, paths.privateKeyPath);
    expect(createPublicKey(privateKey).equals(readPublicKey(await readFile(paths.publicKeyPath, 'utf8'), paths.publicKeyPath))).toBe(true);
  });

  it('refuses to overwrite either file unless forced', async () => {
    const prefix = join(dir, 'cosign');
    await writeKeyPair(prefix, PASSPHRASE);
    const before = await readFile(`${prefix}.key`, 'utf8');
    const refused = await rejection(writeKeyPair(prefix, PASSPHRASE));
    expect(refused.message).toBe(`${prefix}.key already exists; not overwriting a key`);
    expect(refused.hint).toContain('--force');
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe(before);

    await rm(`${prefix}.key`);
    await rejection(checkKeyPairAbsent(prefix));

    await writeKeyPair(prefix, 'another', { force: true });
    const replaced = await readFile(`${prefix}.key`, 'utf8');
    expect(replaced).not.toBe(before);
    await decryptPrivateKey(replaced, 'another', `${prefix}.key`);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
  });

  it('replaces a stale temporary file left by an interrupted run without inheriting its mode', async () => {
    const prefix = join(dir, 'cosign');
    const stale = join(dir, `.cosign.key.partial-${process.pid}`);
    await writeFile(stale, 'half a key', { mode: 0o666 });
    await writeKeyPair(prefix, PASSPHRASE);
    expect((await readdir(dir)).sort()).toEqual(['cosign.key', 'cosign.pub']);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
  });
});
