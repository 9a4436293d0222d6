/**
 * The error codes rpatterns owns (docs/errors.md).
 *
 * @example
 * if (hasCode(err, RpatternsErrorCode.concurrentConsume)) logger.error('a worker failed', { error: err });
 */
export const RpatternsErrorCode = {
  /** A batch or concurrent consumer used out of order (e.g. consume after its batch failed). */
  batchState: 'ERR_REFLEX_BATCH_STATE',
  /** Batch options that cannot work together. */
  invalidBatchConfig: 'ERR_REFLEX_INVALID_BATCH_CONFIG',
  /** A concurrent consumer's event failed in the background (unless it had a code of its own). */
  concurrentConsume: 'ERR_REFLEX_CONCURRENT_CONSUME',
} as const;
