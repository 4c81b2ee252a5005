import { createPrivateKey, createPublicKey, generateKeyPair as generateNodeKeyPair, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { access, chmod, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import nacl from 'tweetnacl';
import { UserError } from '../../errors.js';
import { writeAtomically } from '../../fsutil/atomic.js';

/*
 * cosign's key pair, so that keys made here work with the cosign CLI and back:
 * the private key is a PEM block whose body is go-securesystemslib's
 * `encrypted` JSON (scrypt key derivation, NaCl secretbox) around the PKCS#8
 * DER of an ECDSA P-256 key; the public key is a plain SPKI "PUBLIC KEY" PEM.
 */

// cosign writes the SIGSTORE label since 2.0.1; keys made by earlier releases carry the COSIGN one and still load.
// (Releases up to 2.0.0 read only the COSIGN label, so keys written here need cosign 2.0.1 or later.)
const PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const LEGACY_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';
const PUBLIC_KEY_LABEL = 'PUBLIC KEY';

const KDF_NAME = 'scrypt';
const CIPHER_NAME = 'nacl/secretbox';
const SALT_BYTES = 32;
const BOX_KEY_BYTES = nacl.secretbox.keyLength;
const NONCE_BYTES = nacl.secretbox.nonceLength;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

// The three strengths go-securesystemslib decrypts; anything else is refused before deriving,
// so a doctored key file cannot make us allocate gigabytes.
const ACCEPTED_SCRYPT_PARAMS: readonly ScryptParams[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];

// cosign 2.2 and later write N=65536, but 2.0.1 to 2.1 (which read the SIGSTORE label) open only
// N=32768: the lower strength is the one every release that reads our label accepts.
const WRITTEN_SCRYPT_PARAMS: ScryptParams = { N: 32768, r: 8, p: 1 };

const KEYGEN_HINT = 'create a key pair with "ros-build keygen" (or "cosign generate-key-pair")';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface KeyPairPaths {
  privateKeyPath: string;
  publicKeyPath: string;
}

/** A new ECDSA P-256 key pair in cosign's files' format, the private key encrypted with `passphrase`. */
export async function generateKeyPair(passphrase: string): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await promisify(generateNodeKeyPair)('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    privateKeyPem: encodePem(PRIVATE_KEY_LABEL, Buffer.from(await encryptKeyMaterial(pkcs8, passphrase))),
    publicKeyPem: encodePem(PUBLIC_KEY_LABEL, publicKey.export({ format: 'der', type: 'spki' })),
  };
}

/** Open a cosign private key file's contents; `source` names the file in messages. */
export async function decryptPrivateKey(pem: string, passphrase: string, source: string): Promise<KeyObject> {
  const block = decodePem(pem);
  if (!block) throw new UserError(`${source} is not a cosign private key: it holds no PEM block`, KEYGEN_HINT);
  if (block.label !== PRIVATE_KEY_LABEL && block.label !== LEGACY_PRIVATE_KEY_LABEL) throw wrongPrivateKeyBlock(block.label, source);

  const envelope = parseEnvelope(block.body, source);
  const key = await deriveBoxKey(passphrase, envelope.salt, envelope.params);
  const plaintext = nacl.secretbox.open(envelope.ciphertext, envelope.nonce, key);
  if (!plaintext) {
    // secretbox authenticates: a wrong passphrase and an altered file look the same.
    throw new UserError(
      `wrong passphrase for ${source}`,
      'the passphrase is read from COSIGN_PASSWORD when it is set, else asked for on the terminal; if it is right, the key file has been altered',
    );
  }

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(plaintext), format: 'der', type: 'pkcs8' });
  } catch {
    throw new UserError(`${source} decrypted, but what it holds is not a PKCS#8 private key`, KEYGEN_HINT);
  }
  requireP256(privateKey, source);
  return privateKey;
}

/** Read cosign.pub (an SPKI "PUBLIC KEY" PEM); only ECDSA P-256 keys, the kind cosign generates, are accepted. */
export function readPublicKey(pem: string, source: string): KeyObject {
  const block = decodePem(pem);
  if (!block) throw new UserError(`${source} is not a public key: it holds no PEM block`, 'give the .pub file written beside the .key');
  if (block.label !== PUBLIC_KEY_LABEL) {
    const found = block.label.includes('PRIVATE KEY') ? 'is a private key, not a public key' : `holds a "${block.label}" PEM block, not a "${PUBLIC_KEY_LABEL}"`;
    throw new UserError(`${source} ${found}`, 'give the .pub file written beside the .key');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: block.body, format: 'der', type: 'spki' });
  } catch {
    throw new UserError(`${source} has a "PUBLIC KEY" block that does not parse as a public key`, 'the file is damaged; copy it again from where the key pair was made');
  }
  requireP256(publicKey, source);
  return publicKey;
}

/** The two file names cosign uses for a key pair with this prefix. */
export function keyPairPaths(prefix: string): KeyPairPaths {
  return { privateKeyPath: `${prefix}.key`, publicKeyPath: `${prefix}.pub` };
}

/** Refuse before anything is generated (or a passphrase asked for) when a key pair would be overwritten. */
export async function checkKeyPairAbsent(prefix: string, options: { force?: boolean } = {}): Promise<void> {
  if (options.force) return;
  for (const path of Object.values(keyPairPaths(prefix))) {
    if (await exists(path)) {
      throw new UserError(`${path} already exists; not overwriting a key`, 'pass --force to replace it (whatever it signed will no longer verify with a new key), or choose another --output-prefix');
    }
  }
}

/**
 * Generate a key pair and write `<prefix>.key` (0600) and `<prefix>.pub` (0644).
 * Both are complete in temporary files before either is renamed into place (the
 * .key, then at once the .pub), so an interruption never leaves half a key file.
 */
export async function writeKeyPair(prefix: string, passphrase: string, options: { force?: boolean } = {}): Promise<KeyPairPaths> {
  await checkKeyPairAbsent(prefix, options);
  const paths = keyPairPaths(prefix);
  const pair = await generateKeyPair(passphrase);
  await writeAtomically(paths.publicKeyPath, async (publicTmp) => {
    await writeFileWithMode(publicTmp, pair.publicKeyPem, 0o644);
    await writeAtomically(paths.privateKeyPath, (privateTmp) => writeFileWithMode(privateTmp, pair.privateKeyPem, 0o600));
  });
  return paths;
}

async function writeFileWithMode(path: string, contents: string, mode: number): Promise<void> {
  // A leftover temporary file would keep its old mode; 'wx' creates it afresh, never readable by others.
  await rm(path, { force: true });
  await writeFile(path, contents, { mode: mode & 0o600, flag: 'wx' });
  // Set the mode exactly, whatever the umask.
  await chmod(path, mode);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function encryptKeyMaterial(plaintext: Buffer, passphrase: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await deriveBoxKey(passphrase, salt, WRITTEN_SCRYPT_PARAMS);
  const ciphertext = nacl.secretbox(plaintext, nonce, key);
  // Field order and standard padded base64 are what Go's encoding/json writes for go-securesystemslib's structs.
  return JSON.stringify({
    kdf: { name: KDF_NAME, params: { N: WRITTEN_SCRYPT_PARAMS.N, r: WRITTEN_SCRYPT_PARAMS.r, p: WRITTEN_SCRYPT_PARAMS.p }, salt: salt.toString('base64') },
    cipher: { name: CIPHER_NAME, nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
}

async function deriveBoxKey(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  // scrypt needs 128·N·r bytes (32 MiB for cosign's keys), exactly Node's default ceiling: allow twice that.
  const maxmem = 256 * params.N * params.r;
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(Buffer.from(passphrase, 'utf8'), salt, BOX_KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (error, derived) =>
      error ? reject(error) : resolve(derived),
    ),
  );
  return new Uint8Array(key);
}

interface Envelope {
  params: ScryptParams;
  salt: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

function parseEnvelope(body: Buffer, source: string): Envelope {
  const malformed = (what: string) =>
    new UserError(`${source} is not a valid encrypted cosign key: ${what}`, 'the file is damaged; restore it from a backup or create a new key pair');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw malformed('its PEM body is not JSON');
  }
  const kdf = field(json, 'kdf');
  const cipher = field(json, 'cipher');
  const params = field(kdf, 'params');
  if (field(kdf, 'name') !== KDF_NAME) throw malformed(`unknown key derivation ${JSON.stringify(field(kdf, 'name'))}, expected "${KDF_NAME}"`);
  if (field(cipher, 'name') !== CIPHER_NAME) throw malformed(`unknown cipher ${JSON.stringify(field(cipher, 'name'))}, expected "${CIPHER_NAME}"`);

  const scryptParams = { N: field(params, 'N'), r: field(params, 'r'), p: field(params, 'p') };
  const accepted = ACCEPTED_SCRYPT_PARAMS.find((known) => known.N === scryptParams.N && known.r === scryptParams.r && known.p === scryptParams.p);
  if (!accepted) throw malformed(`unsupported scrypt parameters ${JSON.stringify(scryptParams)}`);

  const salt = decodeBase64(field(kdf, 'salt'));
  const nonce = decodeBase64(field(cipher, 'nonce'));
  const ciphertext = decodeBase64(field(json, 'ciphertext'));
  if (!salt) throw malformed('kdf.salt is not base64');
  if (!nonce || nonce.length !== NONCE_BYTES) throw malformed(`cipher.nonce is not ${NONCE_BYTES} base64-encoded bytes`);
  if (!ciphertext || ciphertext.length < nacl.secretbox.overheadLength) throw malformed('ciphertext is missing or too short');
  return { params: accepted, salt, nonce, ciphertext };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** Standard padded base64 only, as Go's encoding/json writes []byte; Buffer.from would silently skip stray characters. */
function decodeBase64(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function wrongPrivateKeyBlock(label: string, source: string): UserError {
  if (label === PUBLIC_KEY_LABEL) return new UserError(`${source} is a public key, not a cosign private key`, 'sign with the .key file written beside the .pub');
  if (/^(EC |RSA )?PRIVATE KEY$/.test(label)) {
    return new UserError(`${source} is an unencrypted "${label}", not a cosign private key`, 'convert it with "cosign import-key-pair --key FILE", which encrypts it with a passphrase');
  }
  return new UserError(`${source} holds a "${label}" PEM block, not an encrypted cosign private key`, KEYGEN_HINT);
}

function requireP256(key: KeyObject, source: string): void {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return;
  const found = key.asymmetricKeyType === 'ec' ? `an EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown-curve'}` : `a ${key.asymmetricKeyType ?? 'unknown'}`;
  throw new UserError(`${source} holds ${found} key; only ECDSA P-256 keys (cosign's default) are supported`, KEYGEN_HINT);
}

/** PEM as Go's encoding/pem writes it: 64-character lines and a final newline. */
function encodePem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The first PEM block in `text`, like Go's pem.Decode: anything around it is ignored. */
function decodePem(text: string): { label: string; body: Buffer } | undefined {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\s]*?)-----END \1-----/.exec(text);
  if (!match?.[1] || match[2] === undefined) return undefined;
  const base64 = match[2].replace(/\s+/g, '');
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  return { label: match[1], body: Buffer.from(base64, 'base64') };
}
