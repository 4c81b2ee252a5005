/**
 * The fields of a `write_files` entry (docs/configuration.md): content in
 * one of cloud-init's encodings, `user:group` owner, octal permissions. Errors
 * name the bad value; the caller adds the file's path.
 */

import { gunzipSync } from 'node:zlib';

type Decoding = 'text' | 'base64' | 'gzip' | 'gzip+base64';

/** Every accepted spelling, case-insensitive; `text/plain` is what cloud-init writes for plain text. */
const ENCODINGS: Readonly<Record<string, Decoding>> = {
  '': 'text',
  'text/plain': 'text',
  b64: 'base64',
  base64: 'base64',
  gz: 'gzip',
  gzip: 'gzip',
  'gz+b64': 'gzip+base64',
  'gz+base64': 'gzip+base64',
  'gzip+b64': 'gzip+base64',
  'gzip+base64': 'gzip+base64',
};

const ACCEPTED = `accepted encodings: "" (text), ${Object.keys(ENCODINGS).filter(Boolean).join(', ')}`;

// Standard alphabet, padding optional, white space (line breaks of wrapped base64) ignored.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The bytes to write. Content is a string, or bytes when the YAML used
 * `!!binary` (the `yaml` package gives a Buffer); missing or empty content is an
 * empty file.
 */
export function decodeContent(content: string | Uint8Array | undefined, encoding: string | undefined): Buffer {
  const name = (encoding ?? '').trim().toLowerCase();
  const decoding = Object.hasOwn(ENCODINGS, name) ? ENCODINGS[name] : undefined;
  if (decoding === undefined) throw new Error(`unknown encoding "${encoding}"; ${ACCEPTED}`);
  const bytes = toBytes(content ?? '', decoding);
  // `path` alone makes an empty file, whatever the encoding: there is nothing to decode.
  if (bytes.length === 0) return bytes;
  switch (decoding) {
    case 'text':
      return bytes;
    case 'base64':
      return decodeBase64(bytes, encoding as string);
    case 'gzip':
      return gunzip(bytes, encoding as string);
    case 'gzip+base64':
      return gunzip(decodeBase64(bytes, encoding as string), encoding as string);
  }
}

/** `user:group` or `user`; no owner (or an empty user) is root, as cloud-init does. */
export function parseOwner(owner: string | undefined): { user: string; group?: string } {
  const parts = (owner ?? '').trim().split(':');
  // Names as useradd accepts them (a trailing `$` is a Samba machine account), or numeric ids.
  if (parts.length > 2 || !parts.every((part) => part === '' || /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(part))) {
    throw new Error(`invalid owner "${owner}": expected "user" or "user:group"`);
  }
  const [user, group] = parts;
  return group ? { user: user || 'root', group } : { user: user || 'root' };
}

/**
 * A file mode from an octal string ("0644", "644", "0o644"), or `fallback`
 * when none is given. A number is read by its digits as octal: an unquoted
 * `0644` (or `644`) is the number 644 under YAML 1.2, which the `yaml` package
 * follows, and the user meant the octal mode 0644 in both cases.
 */
export function parsePermissions(p: string | number | null | undefined, fallback = 0o644): number {
  if (p === undefined || p === null) return fallback;
  const text = typeof p === 'number' ? (Number.isInteger(p) && p >= 0 ? String(p) : '') : p.trim();
  if (text === '' && typeof p === 'string') return fallback;
  const match = /^(?:0o|0)?([0-7]{1,4})$/i.exec(text);
  if (!match) throw new Error(`invalid permissions ${JSON.stringify(p)}: expected an octal mode such as "0644"`);
  return parseInt(match[1] as string, 8);
}

/** Base64 and gzip read bytes; a string holding gzip data is binary, one byte per character (latin1). */
function toBytes(content: string | Uint8Array, decoding: Decoding): Buffer {
  if (typeof content !== 'string') return Buffer.from(content);
  return Buffer.from(content, decoding === 'gzip' ? 'latin1' : 'utf8');
}

/** Node's own base64 decoder skips bad characters silently, so the text is checked first. */
function decodeBase64(bytes: Buffer, encoding: string): Buffer {
  const text = bytes.toString('latin1').replace(/\s+/g, '');
  const badLength = text.includes('=') ? text.length % 4 !== 0 : text.length % 4 === 1;
  if (!BASE64.test(text) || badLength) {
    throw new Error(`content is not valid base64 (encoding "${encoding}"); ${ACCEPTED}`);
  }
  return Buffer.from(text, 'base64');
}

function gunzip(bytes: Buffer, encoding: string): Buffer {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new Error(`content is not valid gzip data (encoding "${encoding}"): ${(error as Error).message}; ${ACCEPTED}`);
  }
}
