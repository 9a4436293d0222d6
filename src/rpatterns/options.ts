// What the patterns share on top of internal/options.ts (not exported from the subpath).
import type { ConsumerOptions } from '../core/index.js';

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
