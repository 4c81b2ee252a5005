import { createHash } from 'node:crypto';

/** A cache key: the hash of a step's inputs, in a stable order. */
export function computeKey(kind: string, inputs: Record<string, unknown>): string {
  return createHash('sha256').update(kind).update('\0').update(stableJson(inputs)).digest('hex');
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function shortKey(key: string): string {
  return key.slice(0, 16);
}
