import { invalidArgument } from './errors.js';

/**
 * Where a consumer's position in a stream is kept. `setCursor` may buffer; `flush` writes what is
 * buffered. `run` calls `setCursor` only after the consumer succeeded, and `flush` on every exit.
 */
export interface CursorStore {
  /** The stored cursor of `name`, or '' when there is none. */
  getCursor(name: string): Promise<string>;
  /** Records that `name` has consumed every event up to and including `cursor`. */
  setCursor(name: string, cursor: string): Promise<void>;
  /** Writes every buffered cursor. */
  flush(): Promise<void>;
}

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
