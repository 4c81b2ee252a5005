import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KEY_PASSWORD_ENV, resolveSigningKeys, signBootFiles } from '../../../src/artifacts/sign-boot.js';
import { UserError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sign-boot-'));
const cert = join(dir, 'db.pem');
const key = join(dir, 'db.key');
const encrypted = join(dir, 'encrypted.key');
const otherKey = join(dir, 'other.key');
// Real pairs from openssl: the check compares the certificate's public key with the key's.
const makePair = (keyOut: string, certOut: string) =>
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=test db', '-keyout', keyOut, '-out', certOut], { stdio: 'ignore' });
makePair(key, cert);
makePair(otherKey, join(dir, 'other.pem'));
execFileSync('openssl', ['pkey', '-in', key, '-aes256', '-passout', 'pass:right', '-out', encrypted]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => delete process.env[KEY_PASSWORD_ENV]);

describe('the key pair that signs a medium\'s boot chain', () => {
  it('is optional, and keyed in caches by its certificate alone', async () => {
    expect(await resolveSigningKeys(undefined, undefined)).toBeUndefined();
    const keys = await resolveSigningKeys(key, cert);
    expect(keys).toMatchObject({ keyPath: key, certPath: cert, certDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('is refused, naming the fix, when half of it is given or a file is not what it should be', async () => {
    await expect(resolveSigningKeys(key, undefined)).rejects.toThrow(/--secure-boot-key and --secure-boot-cert go together/);
    await expect(resolveSigningKeys(key, join(dir, 'missing.pem'))).rejects.toThrow(/cannot read the Secure Boot certificate/);
    await expect(resolveSigningKeys(key, key)).rejects.toThrow(/is not a PEM certificate/);
    await expect(resolveSigningKeys(cert, cert)).rejects.toThrow(/is not a PEM private key/);
    const error = await resolveSigningKeys(encrypted, cert).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).hint).toBe(`set ${KEY_PASSWORD_ENV} to its passphrase`);
    process.env[KEY_PASSWORD_ENV] = 'wrong';
    await expect(resolveSigningKeys(encrypted, cert)).rejects.toThrow(/cannot read the key .*encrypted\.key/);
    process.env[KEY_PASSWORD_ENV] = 'right';
    expect(await resolveSigningKeys(encrypted, cert)).toBeDefined();
    await expect(resolveSigningKeys(otherKey, cert)).rejects.toThrow(/other\.key is not the key of the certificate .*db\.pem/);
  });

  it('needs an image that carries a signed shim', async () => {
    const keys = (await resolveSigningKeys(key, cert))!;
    const rootfs = { squashfsPath: 's', kernelPath: 'k', initrdPath: 'i', kernelVersion: '6.1' };
    await expect(signBootFiles(rootfs, keys, dir)).rejects.toThrow(/the image carries no signed shim to sign with your key/);
  });
});
