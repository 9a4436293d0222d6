/**
 * The error codes rblob owns (docs/errors.md). A corrupt record is
 * `ERR_REFLEX_DESERIALIZATION` and a cursor past the end of its blob `ERR_REFLEX_INVALID_CURSOR`
 * (core codes).
 *
 * @example
 * if (hasCode(err, RblobErrorCode.notFound)) logger.error('the archive lost a blob', { error: err });
 */
export const RblobErrorCode = {
  /** A blob named by a cursor or a listing does not exist (deleted, or the wrong bucket). */
  notFound: 'ERR_REFLEX_BLOB_NOT_FOUND',
  /** Listing the bucket or reading a blob failed (I/O, network, permissions). */
  read: 'ERR_REFLEX_BLOB_READ',
} as const;
