import { ErrorCode, ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import type { Dialect, Executor } from './dialect.js';
import { dialectOf } from './dialects.js';

/** Error code: the database handle is closed (or its connection was lost). */
export const ERR_REFLEX_DB_CLOSED = 'ERR_REFLEX_DB_CLOSED';
/**
 * Error code: an event's id was taken by a gap fill before its row was inserted (the writer
 * stalled longer than the fill delay between allocating the id and inserting): retry the
 * transaction. Never a silent loss.
 */
export const ERR_REFLEX_EVENT_ID_TAKEN = 'ERR_REFLEX_EVENT_ID_TAKEN';

/** A user handle with its dialect and executor, resolved once per handle. */
export interface BoundHandle {
  readonly dialect: Dialect;
  readonly executor: Executor;
}

const bound = new WeakMap<object, BoundHandle>();

/** The dialect and executor of a user's pool/connection/database (cached per handle). */
export function bindHandle(handle: unknown): BoundHandle {
  if (typeof handle !== 'object' || handle === null) {
    throw invalidArgument(
      `database handle must be an object, got ${handle === null ? 'null' : typeof handle}`,
    );
  }
  let b = bound.get(handle);
  if (b === undefined) {
    const dialect = dialectOf(handle);
    b = { dialect, executor: dialect.executor(handle) };
    bound.set(handle, b);
  }
  return b;
}

/** Wraps a driver error as a ReflexError: `ERR_REFLEX_DB_CLOSED` or `ERR_REFLEX_DATABASE`. */
export function databaseError(dialect: Dialect, err: unknown, what: string): ReflexError {
  if (err instanceof ReflexError) return err;
  const kind = dialect.classifyError(err);
  const message = err instanceof Error ? err.message : String(err);
  if (kind === 'closed') {
    return new ReflexError(ERR_REFLEX_DB_CLOSED, `${what}: database closed: ${message}`, {
      cause: err,
    });
  }
  return new ReflexError(ErrorCode.database, `${what}: ${message}`, { cause: err });
}
