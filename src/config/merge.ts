import type { NodeConfig } from './types.js';

/** Lists a later source adds to instead of replacing (docs/configuration.md). */
const APPENDED_LISTS = new Set(['ssh_authorized_keys', 'write_files', 'init_cmd', 'boot_cmd', 'run_cmd', 'ros.modules']);

/**
 * Merge configs given lowest precedence first: maps merge key by key, a later
 * list replaces an earlier one except the appended ones, a later scalar wins.
 */
export function mergeConfigs(configs: readonly NodeConfig[]): NodeConfig {
  return configs.reduce<Record<string, unknown>>((merged, config) => mergeMaps(merged, config, ''), {}) as NodeConfig;
}

function mergeMaps(base: Record<string, unknown>, over: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const existing = result[key];
    if (isMap(existing) && isMap(value)) result[key] = mergeMaps(existing, value, path);
    else if (Array.isArray(existing) && Array.isArray(value) && APPENDED_LISTS.has(path)) result[key] = [...existing, ...value];
    else result[key] = value;
  }
  return result;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
