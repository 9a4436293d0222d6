import { ErrorCode, type Event, type EventFilter, ReflexError } from '../core/index.js';
import { FiltersErrorCode } from './error-codes.js';

/**
 * A filter on the decoded metadata of each event: `deserialize` turns the bytes (undefined when
 * the event has none) into a value, `predicate` decides. A `deserialize` failure throws an
 * `ERR_REFLEX_DESERIALIZATION` error (which the consumer reports as a filter error).
 * Missing arguments throw `ERR_REFLEX_METADATA_FILTER` at once.
 *
 * @example
 * const onlyEu = metadataEventFilter(
 *   (b) => JSON.parse(new TextDecoder().decode(b)) as { region: string },
 *   (m) => m.region === 'eu',
 * );
 */
export function metadataEventFilter<T>(
  deserialize: (metadata: Uint8Array | undefined) => T,
  predicate: (value: T, event: Event) => boolean,
): EventFilter {
  if (typeof deserialize !== 'function' || typeof predicate !== 'function') {
    throw new ReflexError(
      FiltersErrorCode.metadataFilter,
      'metadata filter needs a deserialize function and a predicate',
    );
  }
  return (event) => {
    let value: T;
    try {
      value = deserialize(event.metadata);
    } catch (err) {
      throw new ReflexError(
        ErrorCode.deserialization,
        `cannot deserialize the metadata of event ${event.id}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return predicate(value, event);
  };
}
