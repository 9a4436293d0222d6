import type { CursorStore } from '../core/index.js';
import { invalidArgument } from './errors.js';

/**
 * Throws `ERR_REFLEX_INVALID_ARGUMENT` unless `store` has the three methods of a
 * {@link CursorStore}. `what` names it in the message ('spec cursor store').
 */
export function checkCursorStore(
  store: unknown,
  what = 'cursor store',
): asserts store is CursorStore {
  const s = store as Partial<CursorStore> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.getCursor !== 'function' ||
    typeof s.setCursor !== 'function' ||
    typeof s.flush !== 'function'
  ) {
    throw invalidArgument(`${what} must implement getCursor, setCursor and flush`);
  }
}
