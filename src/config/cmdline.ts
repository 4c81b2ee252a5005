/**
 * The kernel command line as a configuration source (docs/configuration.md):
 * GRUB, PXE and the ISO's boot menu can set any key as `ros.KEY=VALUE`.
 *
 * Words are split the way the kernel splits them (white space outside quotes),
 * and quotes are removed wherever they appear in a word, so both
 * `ros.hostname="a b"` and `"ros.hostname=a b"` give the value `a b`.
 *
 * A bad word never stops the others: it is reported in `problems` and skipped,
 * because the configuration must never keep a machine from booting.
 */

import { readFile } from 'node:fs/promises';

export interface CmdlineParse {
  config: Record<string, unknown>;
  problems: string[];
}

/**
 * Config paths (after the top-level mapping below) that are lists in the
 * schema: one word must still give a list, so `ros.modules=dummy` is
 * `['dummy']` and merges like a list written in YAML.
 */
export const CMDLINE_LIST_KEYS: readonly string[] = [
  'ros.dns_nameservers',
  'ros.ntp_servers',
  'ros.modules',
  'ros.data_sources',
  'ssh_authorized_keys',
  'init_cmd',
  'boot_cmd',
  'run_cmd',
];

/**
 * Top-level config keys reachable from the command line. Every word must start
 * with `ros.` (so the OS never claims another program's parameters), so
 * `ros.hostname=node1` is the top-level `hostname`, not `ros.hostname`.
 */
const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([
  'hostname',
  'ssh_authorized_keys',
  'write_files',
  'init_cmd',
  'boot_cmd',
  'run_cmd',
]);

const PREFIX = 'ros.';
/**
 * The OS's own boot arguments (GRUB and the initramfs's root setup use them):
 * they share the prefix but are not configuration, so they are neither
 * settings nor unknown keys.
 */
const BOOT_ARGUMENTS: ReadonlySet<string> = new Set(['ros.image', 'ros.try', 'ros.fallback', 'ros.platform']);
// The kernel's isspace(): only ASCII white space separates words.
const SPACE = /[ \t\n\r\v\f]/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

interface Word {
  /** As written, quotes included: what problems quote back to the user. */
  raw: string;
  /** With the quotes removed. */
  text: string;
  unterminatedQuote: boolean;
}

interface Setting {
  path: string[];
  value: string | boolean;
}

export function parseKernelCmdline(cmdline: string): CmdlineParse {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const word of splitWords(cmdline)) {
    if (!word.text.startsWith(PREFIX) || BOOT_ARGUMENTS.has(word.text.split('=')[0]!)) continue;
    const setting = parseWord(word);
    const problem = typeof setting === 'string' ? setting : storeSetting(config, setting);
    if (problem !== undefined) problems.push(`kernel command line word ${describeWord(word)}: ${problem}; skipped`);
  }
  return { config, problems };
}

/** Reads and parses the running kernel's command line; a read failure is a problem, not an error, so boot goes on. */
export async function readKernelCmdline(path = '/proc/cmdline'): Promise<CmdlineParse> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { config: {}, problems: [`cannot read the kernel command line from ${path}: ${(error as Error).message}`] };
  }
  return parseKernelCmdline(text);
}

/** The value of a boot argument (`ros.platform=gce` → "gce"); the last word wins, as with the kernel's own parameters. */
export function findBootArgument(cmdline: string, name: string): string | undefined {
  let value: string | undefined;
  for (const word of splitWords(cmdline)) if (word.text.startsWith(`${name}=`)) value = word.text.slice(name.length + 1);
  return value;
}

/** Splits at white space outside quotes; a quote may open anywhere in a word and is removed. */
function splitWords(cmdline: string): Word[] {
  const words: Word[] = [];
  let raw = '';
  let text = '';
  let quote: string | undefined;
  const flush = (): void => {
    if (raw !== '') words.push({ raw, text, unterminatedQuote: quote !== undefined });
    raw = '';
    text = '';
  };
  for (const ch of cmdline) {
    if (quote === undefined && SPACE.test(ch)) {
      flush();
      continue;
    }
    raw += ch;
    if (quote === undefined && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = undefined;
    else text += ch;
  }
  flush();
  return words;
}

/** A word's key path and value, or why it is malformed. */
function parseWord(word: Word): Setting | string {
  if (word.unterminatedQuote) return 'a quote is not closed';
  const { text } = word;
  const bracket = text.indexOf('[');
  const equals = text.indexOf('=');
  let keyPart: string;
  let sub: string | undefined;
  let rest: string;
  if (bracket !== -1 && (equals === -1 || bracket < equals)) {
    // `key[sub]=value`: the sub key may hold dots and `=`, so it is cut at `]`, not at `=`.
    const close = text.indexOf(']', bracket);
    if (close === -1) return 'a "[" is not closed by "]"';
    keyPart = text.slice(0, bracket);
    sub = text.slice(bracket + 1, close);
    rest = text.slice(close + 1);
    if (sub === '' || sub.includes('[')) return 'the key inside "[...]" is empty or holds "["';
    if (rest !== '' && !rest.startsWith('=')) return 'only "=value" may follow "[...]"';
  } else {
    keyPart = equals === -1 ? text : text.slice(0, equals);
    rest = equals === -1 ? '' : text.slice(equals);
  }
  const segments = keyPart.slice(PREFIX.length).split('.');
  if (segments.some((segment) => !SEGMENT.test(segment))) {
    return 'a key part is empty or holds characters other than letters, digits, "_" and "-"';
  }
  const path = mapTopLevel(sub === undefined ? segments : [...segments, sub]);
  // Assigning it would replace an object's prototype instead of adding a key.
  if (path.includes('__proto__')) return 'the key "__proto__" is not allowed';
  const value = rest === '' ? true : convertValue(rest.slice(1), word.raw, sub !== undefined);
  return { path, value };
}

/** `ros.hostname` is the top-level `hostname`; anything else stays under `ros`. */
function mapTopLevel(segments: string[]): string[] {
  const [first] = segments;
  return first !== undefined && TOP_LEVEL_KEYS.has(first) ? segments : ['ros', ...segments];
}

/**
 * Values stay text, except an unquoted `true` or `false`: the install keys
 * (`ros.install.automatic=true`, `ros.install.silent=false`) are booleans in
 * the schema and a boot menu has no other way to write one. Quoting keeps the
 * text (`ros.password="true"`), and a `[sub]` entry always stays text because
 * the maps that use it (`ros.sysctl`, `ros.environment`) hold strings.
 */
function convertValue(value: string, raw: string, mapEntry: boolean): string | boolean {
  if (mapEntry || (value !== 'true' && value !== 'false')) return value;
  return raw.endsWith(`=${value}`) ? value === 'true' : value;
}

/** Adds a setting to the config; checks the whole path before changing anything, so a refused word leaves no trace. */
function storeSetting(config: Record<string, unknown>, { path, value }: Setting): string | undefined {
  const throughList = CMDLINE_LIST_KEYS.find((key) => path.join('.').startsWith(`${key}.`));
  if (throughList !== undefined) return `${throughList} is a list and has no sub keys`;
  let node = config;
  for (const [index, segment] of path.slice(0, -1).entries()) {
    if (!Object.hasOwn(node, segment)) {
      const child: Record<string, unknown> = {};
      node[segment] = child;
      node = child;
      continue;
    }
    const existing = node[segment];
    if (!isMap(existing)) return `${path.slice(0, index + 1).join('.')} already has a value, so it cannot also be a map`;
    node = existing;
  }
  const leaf = path[path.length - 1] as string;
  const dotted = path.join('.');
  if (!Object.hasOwn(node, leaf)) {
    node[leaf] = CMDLINE_LIST_KEYS.includes(dotted) ? [value] : value;
    return undefined;
  }
  const existing = node[leaf];
  if (isMap(existing)) return `${dotted} is already a map, so it cannot also have a value`;
  // A repeated key is a list, in the order the words came.
  node[leaf] = Array.isArray(existing) ? [...(existing as unknown[]), value] : [existing, value];
  return undefined;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names a word in a problem; the password is never shown, even when its word is malformed. */
function describeWord(word: Word): string {
  if (/^ros\.password\b/.test(word.text)) return "'ros.password=(hidden)'";
  return `'${word.raw}'`;
}
