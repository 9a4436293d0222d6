import { invalidArgument } from '../internal/errors.js';

/** Refuses an options value that is not a plain object or has a key outside `known`. */
export function checkKeys(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(`${what} must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw invalidArgument(`unknown ${what} key ${JSON.stringify(key)}`);
  }
}

/** An integer option in [min, max], or its default when undefined. */
export function intOption(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** A boolean option, or its default when undefined. */
export function boolOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean`);
  return value;
}
