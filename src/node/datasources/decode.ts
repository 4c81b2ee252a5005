/**
 * Turning what a source holds into the text and keys the node uses: user
 * data may arrive gzip-compressed (cloud-init accepts that, and clouds with
 * small size limits invite it), keys arrive as lines, lists or maps.
 */
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';

/** Text of the user data, gunzipped when it starts with gzip's magic bytes; empty means none. */
export function decodeUserData(bytes: Buffer | undefined): string | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  let plain = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      plain = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`user data looks gzip-compressed but does not gunzip: ${(error as Error).message}`);
    }
  }
  const text = plain.toString('utf8');
  return text.trim() === '' ? undefined : text;
}

/**
 * Every key found in a value of any shape: a string (one key a line), a list,
 * or a map whose values are keys (config-2 `public_keys`, NoCloud
 * `public-keys`, EC2-style `{0: {openssh-key: …}}`). Order kept, duplicates dropped.
 */
export function collectSshKeys(value: unknown): string[] {
  const keys: string[] = [];
  const visit = (item: unknown): void => {
    if (typeof item === 'string') keys.push(...splitKeyLines(item));
    else if (Array.isArray(item)) item.forEach(visit);
    else if (typeof item === 'object' && item !== null) Object.values(item).forEach(visit);
  };
  visit(value);
  return [...new Set(keys)];
}

/** One key a line; blank lines and comments dropped. */
export function splitKeyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * A key list that may be plain lines, a JSON list or a YAML list (Hetzner's
 * public-keys is described both ways). YAML only for text that looks like a
 * list: YAML would fold plain lines into one string.
 */
export function parseKeyList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('- ')) {
    try {
      return collectSshKeys(parse(trimmed));
    } catch {
      // Not valid YAML after all: fall back to lines without list marks and quotes.
      return [...new Set(splitKeyLines(trimmed).map((line) => line.replace(/^-\s*/, '').replace(/^["']|["'],?$/g, '')).filter((line) => line !== ''))];
    }
  }
  return [...new Set(splitKeyLines(trimmed))];
}

/** A hostname string, or undefined when missing or blank. */
export function readHostname(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Parse text that must be a JSON object; anything else throws with `what` in the message. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
