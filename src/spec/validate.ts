import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from '../errors.js';
import type { Spec } from './types.js';

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema', 'os.schema.json');

let compiled: ReturnType<Ajv['compile']> | undefined;

function compileSchema() {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    compiled = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  }
  return compiled;
}

/** Check a parsed os.yaml against the schema; throw one UserError listing every problem with its path. */
export function validateSpec(data: unknown, source: string): Spec {
  const validate = compileSchema();
  if (validate(data)) return data as Spec;
  const problems = (validate.errors ?? []).map((error) => describeProblem(error, data));
  const unique = [...new Set(problems)];
  throw new UserError(
    `${source} is not a valid spec (${unique.length} problem${unique.length === 1 ? '' : 's'}):\n${unique.map((p) => `  - ${p}`).join('\n')}`,
    'see schema/os.schema.json for every key; editors with YAML language support check it as you type',
  );
}

function describeProblem(error: ErrorObject, data: unknown): string {
  const path = toDottedPath(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const key = String(error.params.additionalProperty);
    const known = knownKeys(error);
    const guess = closestKey(key, known);
    const suggestion = guess ? ` (did you mean "${guess}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : '';
    return `${joinPath(path, key)}: unknown key "${key}"${suggestion}`;
  }
  if (error.keyword === 'enum') {
    return `${path || '(root)'}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(valueAt(data, error.instancePath))}`;
  }
  if (error.keyword === 'required') {
    return `${joinPath(path, String(error.params.missingProperty))}: required key is missing`;
  }
  return `${path || '(root)'}: ${error.message ?? 'is invalid'}`;
}

function knownKeys(error: ErrorObject): string[] {
  const schema = error.parentSchema as { properties?: Record<string, unknown> } | undefined;
  return Object.keys(schema?.properties ?? {});
}

function toDottedPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function valueAt(data: unknown, instancePath: string): unknown {
  let value: unknown = data;
  for (const part of instancePath.split('/').slice(1)) {
    if (value && typeof value === 'object') value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The known key nearest to a mistyped one, when it is close enough to be a typo. */
export function closestKey(key: string, known: string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
