// Option checks shared by the patterns (not exported from the subpath).
import type { ConsumerOptions } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';

/** Throws ERR_REFLEX_INVALID_ARGUMENT for a key of `options` not in `known`. */
export function checkKeys(what: string, options: object, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`${what} options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw invalidArgument(`unknown ${what} option ${JSON.stringify(key)}`);
  }
}

/** A finite number of ms ≥ min, or the default when undefined. */
export function checkMs(what: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidArgument(`${what} must be a finite number of ms ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** A non-negative safe integer, or the default when undefined. */
export function checkCount(what: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidArgument(`${what} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

export { consumerOptionKeys } from '../internal/consumer-option-keys.js';

/** Splits `options` into the pattern's own keys and the rest (for newConsumer, which validates them). */
export function split<T extends object, K extends string>(
  options: T,
  own: readonly K[],
): ConsumerOptions {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (!(own as readonly string[]).includes(k)) rest[k] = v;
  }
  return rest as ConsumerOptions;
}

/** The message of an error, for logs and dead letters. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
