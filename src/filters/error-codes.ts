/**
 * The error codes the filters own (docs/errors.md).
 *
 * @example
 * if (hasCode(err, FiltersErrorCode.metadataFilter)) logger.warn('bad metadata', { error: err });
 */
export const FiltersErrorCode = {
  /** The metadata filter could not read an event's metadata. */
  metadataFilter: 'ERR_REFLEX_METADATA_FILTER',
} as const;
