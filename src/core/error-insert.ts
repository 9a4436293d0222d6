/**
 * Records that consumer `consumerName` gave up on event `eventId` with `errMsg` (a dead letter).
 * Recording the same (consumer, event) pair again must succeed and change nothing.
 * `newErrorsTable().toErrorInsertFunc(db)` of `reflex-events/rsql` is one.
 */
export type ErrorInsertFunc = (
  consumerName: string,
  eventId: string,
  errMsg: string,
  signal?: AbortSignal,
) => Promise<void>;
