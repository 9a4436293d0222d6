import type { StreamCallOptions } from '../core/index.js';
import { invalidArgument } from './errors.js';
import { checkOptionKeys } from './options.js';

const knownKeys = ['lag', 'fromHead', 'toHead', 'signal'];

/**
 * Checks stream options and returns them frozen, without undefined members. Throws an
 * `ERR_REFLEX_INVALID_ARGUMENT` error naming the bad option.
 */
export function validateStreamOptions(options: StreamCallOptions | undefined): StreamCallOptions {
  if (options === undefined) return Object.freeze({});
  checkOptionKeys(options, knownKeys, 'stream');
  const out: { lag?: number; fromHead?: boolean; toHead?: boolean; signal?: AbortSignal } = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    switch (key) {
      case 'lag':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
          throw invalidArgument(
            `stream option lag must be a finite number of ms ≥ 0, got ${value}`,
          );
        }
        if (value > 0) out.lag = value;
        break;
      case 'fromHead':
      case 'toHead':
        if (typeof value !== 'boolean') {
          throw invalidArgument(`stream option ${key} must be a boolean, got ${typeof value}`);
        }
        if (value) out[key] = true;
        break;
      case 'signal':
        if (!(value instanceof AbortSignal)) throw invalidArgument('signal must be an AbortSignal');
        out.signal = value;
        break;
    }
  }
  return Object.freeze(out);
}

/**
 * For sources: validates the options of a stream call together with its cursor. `fromHead` with a
 * non-empty cursor is refused: the cursor would be silently ignored.
 */
export function validateStreamCall(after: string, options?: StreamCallOptions): StreamCallOptions {
  if (typeof after !== 'string') throw invalidArgument('cursor must be a string');
  const resolved = validateStreamOptions(options);
  if (resolved.fromHead === true && after !== '') {
    throw invalidArgument(
      `fromHead ignores the cursor ${JSON.stringify(after)}: pass '' with fromHead, or drop fromHead`,
    );
  }
  return resolved;
}
