/**
 * The error codes rsql owns (docs/errors.md). Bad options are the core's
 * `ERR_REFLEX_INVALID_ARGUMENT`, a malformed cursor its `ERR_REFLEX_INVALID_CURSOR`.
 *
 * @example
 * if (hasCode(err, RsqlErrorCode.eventIdTaken)) await retryTheTransaction();
 */
export const RsqlErrorCode = {
  /** A database error (the driver's error is the `cause`). */
  database: 'ERR_REFLEX_DATABASE',
  /** The database handle is closed, or its connection was lost or refused (transient). */
  dbClosed: 'ERR_REFLEX_DB_CLOSED',
  /** Event ids that are not safe increasing integers (a corrupt or foreign table). */
  consecEvent: 'ERR_REFLEX_CONSEC_EVENT',
  /** A cursors table refused a cursor lower than the stored one. */
  cursorNotIncreasing: 'ERR_REFLEX_CURSOR_NOT_INCREASING',
  /**
   * An event's id was taken by a gap fill before its row was inserted (the writer stalled longer
   * than the fill delay between allocating the id and inserting): retry the transaction. Never a
   * silent loss.
   */
  eventIdTaken: 'ERR_REFLEX_EVENT_ID_TAKEN',
  /**
   * A table or a session that would bend data: a PostgreSQL events table whose id default makes
   * gap resolution unsafe (docs/postgres.md), a MySQL cursors or errors table whose collation
   * folds names (`mailer` = `Mailer` = `mailer `), a MySQL session without strict mode. The
   * message names the fix.
   */
  unsafeSchema: 'ERR_REFLEX_UNSAFE_SCHEMA',
  /** An integration's optional peer (drizzle-orm) could not be loaded. */
  peerMissing: 'ERR_REFLEX_PEER_MISSING',
} as const;
