/**
 * Secure Boot with one's own keys: the boot chain a medium carries (shim,
 * both GRUB images, MokManager, the kernel) gets one more signature, made
 * with the user's key, beside the distribution's and Microsoft's (sbsign
 * adds, it does not replace). A machine whose db holds the user's
 * certificate (and not Microsoft's) then starts shim; shim still takes
 * Debian's GRUB and kernels with Debian's certificate inside it, and a kernel
 * of the user's own, signed here, with db.
 */
import { createHash } from 'node:crypto';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { runCommand } from '../exec/run.js';
import type { SignedEfiRole } from '../rootfs/signed-efi.js';
import type { RootfsArtifacts } from './squashfs.js';

/** The environment variable holding the passphrase of an encrypted key (never a flag: it would show in `ps` and shell history). */
export const KEY_PASSWORD_ENV = 'ROS_SECURE_BOOT_KEY_PASSWORD';

export interface SigningKeys {
  keyPath: string;
  certPath: string;
  /** SHA-256 of the certificate: what a medium's cache key depends on (the key itself never enters one). */
  certDigest: string;
  /** The key is passphrase-protected: opened with $ROS_SECURE_BOOT_KEY_PASSWORD for sbsign. */
  encrypted: boolean;
}

/** Check the pair the user gave before anything is built: both there, a PEM certificate, a key that opens. */
export async function resolveSigningKeys(keyPath: string | undefined, certPath: string | undefined): Promise<SigningKeys | undefined> {
  if (!keyPath && !certPath) return undefined;
  if (!keyPath || !certPath) throw new UserError('--secure-boot-key and --secure-boot-cert go together', 'give both: the private key (PEM) and its certificate (PEM), the one enrolled in the machine\'s db');
  const cert = await readFile(certPath, 'utf8').catch(() => {
    throw new UserError(`cannot read the Secure Boot certificate ${certPath}`, 'give the PEM certificate enrolled in db (or MOK)');
  });
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new UserError(`${certPath} is not a PEM certificate`, 'convert a DER one with: openssl x509 -inform der -in CERT.der -out CERT.pem');
  const key = await readFile(keyPath, 'utf8').catch(() => {
    throw new UserError(`cannot read the Secure Boot key ${keyPath}`, 'give the PEM private key of the certificate');
  });
  if (!/-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----/.test(key)) throw new UserError(`${keyPath} is not a PEM private key`, 'give the PEM private key of the certificate');
  if (isEncrypted(key) && !process.env[KEY_PASSWORD_ENV]) {
    throw new UserError(`the Secure Boot key ${keyPath} is encrypted`, `set ${KEY_PASSWORD_ENV} to its passphrase`);
  }
  // The pair must match: a chain signed with a key whose certificate is not the one enrolled boots nowhere.
  const publicOf = async (args: string[], what: string, fix: string) =>
    runCommand('openssl', args).catch((error: Error) => {
      throw new UserError(`cannot read ${what}: ${error.message.split('\n').slice(-1)[0]}`, fix);
    });
  const fromCert = await publicOf(['x509', '-in', certPath, '-noout', '-pubkey'], `the certificate ${certPath}`, 'give a PEM X.509 certificate');
  const fromKey = await publicOf(['pkey', '-in', keyPath, '-pubout', ...(isEncrypted(key) ? ['-passin', `env:${KEY_PASSWORD_ENV}`] : [])], `the key ${keyPath}`, `give its PEM private key${isEncrypted(key) ? `, and its passphrase in ${KEY_PASSWORD_ENV}` : ''}`);
  if (fromCert.trim() !== fromKey.trim()) {
    throw new UserError(`the Secure Boot key ${keyPath} is not the key of the certificate ${certPath}`, 'give the private key that belongs to the certificate enrolled in db (or MOK)');
  }
  return { keyPath, certPath, certDigest: createHash('sha256').update(cert).digest('hex'), encrypted: isEncrypted(key) };
}

function isEncrypted(pem: string): boolean {
  return pem.includes('ENCRYPTED');
}

const SIGNED_ROLES: readonly SignedEfiRole[] = ['shim', 'grubDisk', 'grubCd', 'mokManager'];

/**
 * Copies of the rootfs's boot files in `dir`, each with the user's signature
 * added; the rest of `rootfs` as it was. An encrypted key is opened into
 * `dir` (0600) for sbsign and removed before this returns.
 */
export async function signBootFiles(rootfs: RootfsArtifacts, keys: SigningKeys, dir: string, logPath?: string): Promise<RootfsArtifacts> {
  if (!rootfs.efiChain) {
    throw new UserError(
      'the image carries no signed shim to sign with your key',
      'build it FROM the OS image, which installs shim-signed and grub-efi-amd64-signed (Debian) or shim and grub2-x86_64-efi (openSUSE)',
    );
  }
  let key = keys.keyPath;
  const opened = join(dir, 'key.pem');
  if (keys.encrypted) {
    await runCommand('openssl', ['pkey', '-in', keys.keyPath, '-passin', `env:${KEY_PASSWORD_ENV}`, '-out', opened], { logPath });
    await chmod(opened, 0o600);
    key = opened;
  }
  try {
    const sign = async (source: string, name: string) => {
      const output = join(dir, name);
      await runCommand('sbsign', ['--key', key, '--cert', keys.certPath, '--output', output, source], { logPath });
      return output;
    };
    const chain = { ...rootfs.efiChain };
    for (const role of SIGNED_ROLES) if (chain[role]) chain[role] = await sign(chain[role]!, `${role}.efi`);
    return { ...rootfs, kernelPath: await sign(rootfs.kernelPath, 'vmlinuz'), efiChain: chain };
  } finally {
    await rm(opened, { force: true });
  }
}

/** What a medium's build says of Secure Boot: signed with the user's key, or not possible with this image (it still builds). */
export function secureBootNote(rootfs: RootfsArtifacts, signing: SigningKeys | undefined): string {
  if (!rootfs.efiChain) return '; no Secure Boot: the image has no signed shim and GRUB (UEFI boots it with Secure Boot off)';
  return signing ? ', boot chain signed with your key' : '';
}
