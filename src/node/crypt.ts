/**
 * Password hashes for /etc/shadow: SHA-512 crypt (`$6$`), written from Ulrich
 * Drepper's specification "Unix crypt using SHA-256 and SHA-512". Debian's
 * libxcrypt reads these hashes, and node:crypto has no crypt(3) of its own.
 *
 * `ros.password` may be a hash already (kept as is) or clear text (hashed here
 * before it is stored); `isCryptHash` tells the two apart.
 */

import { createHash, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIX = '$6$';
const ROUNDS_PREFIX = 'rounds=';
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;

/**
 * The spec's final permutation: each triple of digest bytes becomes four
 * characters, the last byte alone becomes two.
 */
const OUTPUT_TRIPLES: readonly (readonly [number, number, number])[] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

/** The shapes crypt(3) hashes take: MD5, SHA-256, SHA-512, bcrypt, yescrypt, gost-yescrypt, scrypt. */
const HASH_SHAPES: readonly RegExp[] = [
  /^\$1\$[^$:\s]{0,8}\$[./0-9A-Za-z]{22}$/,
  /^\$5\$(?:rounds=\d+\$)?[^$:\s]{0,16}\$[./0-9A-Za-z]{43}$/,
  /^\$6\$(?:rounds=\d+\$)?[^$:\s]{0,16}\$[./0-9A-Za-z]{86}$/,
  /^\$2[aby]\$\d{2}\$[./0-9A-Za-z]{53}$/,
  /^\$g?y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]*\$[./0-9A-Za-z]{43}$/,
  /^\$7\$[./0-9A-Za-z]{11,}\$[./0-9A-Za-z]{43}$/,
];

interface Setting {
  rounds: number;
  /** Whether the setting named its rounds: then the result names them too, as the spec requires. */
  customRounds: boolean;
  salt: string;
}

/**
 * Hashes a password as `$6$salt$hash`. `salt` may be a bare salt, `rounds=N$salt`,
 * or a whole `$6$...` setting or hash (only its rounds and salt are used), which
 * is how `verifyPassword` re-hashes. Without a salt, 16 random characters.
 */
export function hashPassword(clear: string, salt?: string): string {
  const setting = parseSetting(salt ?? generateSalt());
  const digest = computeDigest(Buffer.from(clear, 'utf8'), Buffer.from(setting.salt, 'utf8'), setting.rounds);
  const rounds = setting.customRounds ? `${ROUNDS_PREFIX}${setting.rounds}$` : '';
  return `${PREFIX}${rounds}${setting.salt}$${encodeDigest(digest)}`;
}

/** True when `hash` is a `$6$` hash of `clear`; any other kind of hash is false, never an error. */
export function verifyPassword(clear: string, hash: string): boolean {
  if (!hash.startsWith(PREFIX) || !isCryptHash(hash)) return false;
  let actual: Buffer;
  try {
    actual = Buffer.from(hashPassword(clear, hash), 'utf8');
  } catch {
    return false; // a salt no crypt could have written
  }
  const expected = Buffer.from(hash, 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Whether a value is a crypt hash (or a locked `*`/`!` value) to store as is,
 * rather than clear text to hash. The shape is checked, not only the prefix:
 * a value like `$6$oops` would never let anyone log in if stored as is.
 */
export function isCryptHash(value: string): boolean {
  if (value.startsWith('*') || value.startsWith('!')) return true;
  return HASH_SHAPES.some((shape) => shape.test(value));
}

function generateSalt(): string {
  // 256 is a multiple of 64, so masking a random byte keeps every character equally likely.
  return [...randomBytes(SALT_MAX)].map((byte) => ALPHABET[byte & 0x3f]).join('');
}

/** Rounds and salt from a setting; rounds are clamped and the salt cut at 16 characters, as the spec says. */
function parseSetting(setting: string): Setting {
  let rest = setting.startsWith(PREFIX) ? setting.slice(PREFIX.length) : setting;
  let rounds = ROUNDS_DEFAULT;
  let customRounds = false;
  const match = /^rounds=(\d+)\$/.exec(rest);
  if (match) {
    rounds = Math.min(Math.max(Number(match[1]), ROUNDS_MIN), ROUNDS_MAX);
    customRounds = true;
    rest = rest.slice(match[0].length);
  }
  const end = rest.indexOf('$');
  const salt = (end === -1 ? rest : rest.slice(0, end)).slice(0, SALT_MAX);
  // `:` and white space would break /etc/shadow's lines; ASCII keeps the spec's 16-byte cut a 16-character cut.
  if (!/^[!-~]*$/.test(salt) || salt.includes(':')) {
    throw new Error('a crypt salt may only hold printable ASCII characters other than "$" and ":"');
  }
  return { rounds, customRounds, salt };
}

function sha512(...parts: Buffer[]): Buffer {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** `source` repeated (and cut) to `length` bytes: the spec's way of adding a digest "for each block of 64 bytes". */
function repeatTo(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += source.length) source.copy(out, offset, 0, Math.min(source.length, length - offset));
  return out;
}

function computeDigest(password: Buffer, salt: Buffer, rounds: number): Buffer {
  const alternate = sha512(password, salt, password);

  const main: Hash = createHash('sha512').update(password).update(salt).update(repeatTo(alternate, password.length));
  // Each bit of the password's length, lowest first, adds either the alternate digest or the password.
  for (let length = password.length; length > 0; length >>= 1) main.update(length & 1 ? alternate : password);
  let current = main.digest();

  const passwordDigest = sha512(...Array<Buffer>(password.length).fill(password));
  const passwordSequence = repeatTo(passwordDigest, password.length);
  const saltDigest = sha512(...Array<Buffer>(16 + (current[0] as number)).fill(salt));
  const saltSequence = repeatTo(saltDigest, salt.length);

  // The stretching loop: the mix of inputs varies with the round number so no two consecutive rounds hash alike.
  for (let round = 0; round < rounds; round++) {
    const hash = createHash('sha512');
    hash.update(round & 1 ? passwordSequence : current);
    if (round % 3 !== 0) hash.update(saltSequence);
    if (round % 7 !== 0) hash.update(passwordSequence);
    hash.update(round & 1 ? current : passwordSequence);
    current = hash.digest();
  }
  return current;
}

/** crypt's base64: its own alphabet, least significant six bits first. */
function encodeDigest(digest: Buffer): string {
  const byte = (index: number): number => digest[index] as number;
  let out = '';
  const emit = (value: number, chars: number): void => {
    for (let i = 0; i < chars; i++, value >>= 6) out += ALPHABET[value & 0x3f];
  };
  for (const [a, b, c] of OUTPUT_TRIPLES) emit((byte(a) << 16) | (byte(b) << 8) | byte(c), 4);
  emit(byte(63), 2);
  return out;
}
