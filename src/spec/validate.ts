import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from '../errors.js';
import { closestKey, joinPath, knownKeys, toDottedPath, valueAt } from '../validation/problems.js';
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

