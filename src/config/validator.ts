import { Ajv, type ValidateFunction } from 'ajv';
import schema from './node-config.schema.json' with { type: 'json' };

/** The options both the runtime compile here and the bundle's precompiled validator use (tools/bundle-ros.mjs). */
export const VALIDATOR_OPTIONS = { allErrors: true, strict: false, verbose: true } as const;

/**
 * The schema's validator, compiled at runtime. The node's bundle replaces this
 * module with code generated ahead of time: compiling costs seconds of every
 * boot under emulation, and the result is the same.
 */
export function compileValidator(): ValidateFunction {
  return new Ajv(VALIDATOR_OPTIONS).compile(schema);
}
