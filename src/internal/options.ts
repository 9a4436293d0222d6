// The one options checker of every package: the same checks give the same messages everywhere.
import { invalidArgument } from './errors.js';
import { describeThrown } from './thrown.js';

/**
 * Refuses an options value that is not a plain object, or that has a key outside `known`; `what`
 * names the options in the message ("unknown ack option \"x\""). `undefined` passes.
 */
export function checkOptionKeys(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(`${what} options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw invalidArgument(`unknown ${what} option ${JSON.stringify(key)}`);
  }
}

/** As {@link checkOptionKeys}, for options that must be given. */
export function checkRequiredOptionKeys(
  options: unknown,
  known: readonly string[],
  what: string,
): void {
  if (options === undefined) throw invalidArgument(`${what} options must be an object`);
  checkOptionKeys(options, known, what);
}

/** An integer option in [min, max], or `fallback` when undefined. */
export function intOption(
  value: unknown,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw invalidArgument(`${name} must be an integer ${range}, got ${describeThrown(value)}`);
  }
  return value;
}

/** A finite number of milliseconds ≥ `min`, or `fallback` when undefined. */
export function msOption(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidArgument(
      `${name} must be a finite number of ms ≥ ${min}, got ${describeThrown(value)}`,
    );
  }
  return value;
}

/** A boolean option, or `fallback` when undefined. */
export function boolOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean`);
  return value;
}
