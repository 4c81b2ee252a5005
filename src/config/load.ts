import type { ErrorObject, ValidateFunction } from 'ajv';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { closestKey, joinPath, knownKeys, toDottedPath } from '../validation/problems.js';
import schema from './node-config.schema.json' with { type: 'json' };
import type { NodeConfig } from './types.js';
import { compileValidator } from './validator.js';

export { schema as nodeConfigSchema };

export interface ConfigProblem {
  /** The file (or "kernel command line", "user data from aws") the problem is in. */
  source: string;
  /** Dotted key path, e.g. `write_files[1].permissions`; empty for the whole document. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface LoadedConfig {
  source: string;
  /** What is left once every invalid key is dropped: always safe to apply. */
  config: NodeConfig;
  problems: ConfigProblem[];
}

/** Keys of the RancherOS family this OS accepts but does not apply (docs/configuration.md). */
export const NOT_APPLIED_KEYS = Object.entries(schema.properties)
  .filter(([, value]) => (value as { $ref?: string }).$ref === '#/definitions/accepted')
  .map(([key]) => key);

let compiled: ValidateFunction | undefined;

function compileSchema(): ValidateFunction {
  compiled ??= compileValidator();
  return compiled;
}

/**
 * Parse one cloud-config document. Never throws: broken YAML makes the whole
 * source an error; a wrong type drops that key (the rest still applies); an
 * unknown key is a warning. `!!binary` gives bytes for write_files.
 */
export function parseConfigText(text: string, source: string): LoadedConfig {
  const document = parseDocument(text, { customTags: ['binary'], prettyErrors: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => ({ source, path: '', severity: 'error' as const, message: `not valid YAML: ${firstLine(error.message)}${describePosition(error.linePos)}` }));
    return { source, config: {}, problems };
  }
  const data: unknown = document.toJS();
  if (data === null || data === undefined) return { source, config: {}, problems: [] };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { source, config: {}, problems: [{ source, path: '', severity: 'error', message: 'must be a map of keys (a cloud-config document), not a single value or a list' }] };
  }
  return checkConfig(data as Record<string, unknown>, source);
}

/** Check a parsed document against the schema, dropping what is invalid until what is left is valid. */
export function checkConfig(data: Record<string, unknown>, source: string): LoadedConfig {
  const validate = compileSchema();
  const problems: ConfigProblem[] = [];
  for (let round = 0; round < 100 && !validate(data); round++) {
    const error = pickError(validate.errors ?? []);
    if (!error) break;
    problems.push(describe(error, source));
    dropAt(data, pathOf(error));
  }
  return { source, config: data as NodeConfig, problems };
}

/** The deepest error first: dropping `write_files[1].permissions` keeps `write_files[1]`'s other keys. */
function pickError(errors: ErrorObject[]): ErrorObject | undefined {
  // anyOf reports each branch's complaint too; the anyOf error itself names the value.
  const relevant = errors.filter((e) => !errors.some((other) => other.keyword === 'anyOf' && e !== other && e.instancePath.startsWith(other.instancePath) && e.schemaPath.startsWith(other.schemaPath.replace(/\/anyOf$/, ''))));
  return [...relevant].sort((a, b) => pathOf(b).length - pathOf(a).length)[0];
}

function pathOf(error: ErrorObject): string[] {
  const parts = error.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return error.keyword === 'additionalProperties' ? [...parts, String(error.params.additionalProperty)] : parts;
}

function describe(error: ErrorObject, source: string): ConfigProblem {
  const path = toDottedPath(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const key = String(error.params.additionalProperty);
    const guess = closestKey(key, knownKeys(error));
    return { source, path: joinPath(path, key), severity: 'warning', message: `unknown key, ignored${guess ? ` (did you mean "${guess}"?)` : ''}` };
  }
  if (error.keyword === 'required') {
    return { source, path, severity: 'error', message: `needs "${String(error.params.missingProperty)}"; this entry is skipped` };
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    return { source, path, severity: 'error', message: `must be one of ${allowed}; skipped` };
  }
  if (error.keyword === 'anyOf') return { source, path, severity: 'error', message: 'must be a string or a list of strings; skipped' };
  // Values are never echoed: one of them may be a password.
  return { source, path, severity: 'error', message: `${error.message ?? 'is invalid'}; skipped` };
}

function dropAt(data: Record<string, unknown>, path: string[]): void {
  if (path.length === 0) {
    for (const key of Object.keys(data)) delete data[key];
    return;
  }
  let parent: unknown = data;
  for (const part of path.slice(0, -1)) parent = (parent as Record<string, unknown>)[part];
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[last];
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function describePosition(linePos: Array<{ line: number; col: number }> | undefined): string {
  const start = linePos?.[0];
  return start ? ` (line ${start.line}, column ${start.col})` : '';
}

/** One line per problem, as the console, the journal and `validate` print it. */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.path ? `${problem.source}: ${problem.path}` : problem.source;
  return `${problem.severity}: ${where}: ${problem.message}`;
}

/** One file, or undefined when it does not exist; a file that cannot be read is an error of that source. */
export async function loadConfigFile(path: string): Promise<LoadedConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { source: path, config: {}, problems: [{ source: path, path: '', severity: 'error', message: `cannot be read: ${(error as Error).message}` }] };
  }
  return parseConfigText(text, path);
}

/**
 * `ros config validate` and `ros-build config validate`: every problem on
 * stderr, "valid" on stdout; the exit status is 1 for an error, 2 for a file
 * that does not exist, 0 otherwise (warnings alone pass).
 */
export async function validateConfigFile(path: string, output: { out: (text: string) => void; err: (text: string) => void }): Promise<number> {
  const loaded = await loadConfigFile(path);
  if (!loaded) {
    output.err(`error: ${path}: no such file\n`);
    return 2;
  }
  for (const problem of loaded.problems) output.err(`${formatProblem(problem)}\n`);
  if (loaded.problems.some((p) => p.severity === 'error')) return 1;
  const warnings = loaded.problems.length;
  output.out(`${path}: valid${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}\n`);
  return 0;
}
