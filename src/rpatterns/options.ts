// What the patterns share on top of internal/options.ts (not exported from the subpath).
import type { ConsumerOptions } from '../core/index.js';
import { checkOptionKeys, msOption } from '../internal/options.js';

export { consumerOptionKeys } from '../internal/consumer-option-keys.js';

/** Splits `options` into the pattern's own keys and the rest (for newConsumer, which validates them). */
export function split<T extends object, K extends string>(
  options: T,
  patternKeys: readonly K[],
): ConsumerOptions {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (!(patternKeys as readonly string[]).includes(k)) rest[k] = v;
  }
  return rest as ConsumerOptions;
}

/**
 * run-forever.ts's calls in their (what, value) order, delegating to the one checker of
 * internal/options.ts; its owner switches to that directly and these two go.
 */
export function checkKeys(what: string, options: object, known: readonly string[]): void {
  checkOptionKeys(options, known, what);
}

/** See {@link checkKeys}. */
export function checkMs(what: string, value: unknown, fallback: number, min = 0): number {
  return msOption(value, what, fallback, min);
}
