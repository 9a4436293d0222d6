import type { Event } from '../../core/index.js';
import type { Gap } from '../dialect.js';

/**
 * A run of resolved ids (after, end]: every id in it is either one of `events` (in id order) or
 * will never be an event (a noop, a rolled-back id). Immutable once built.
 */
export interface Chunk {
  readonly after: number;
  readonly end: number;
  readonly events: readonly Event[];
}

/** A position a stream reads from: the chunk and the index of its first event after the cursor. */
export interface ReadPosition {
  readonly chunk: Chunk;
  readonly index: number;
}

/** What one load after a position brought. */
export interface LoadResult {
  readonly chunk: Chunk;
  /** The gap the load stopped at, when it did. */
  readonly gap: Gap | undefined;
  /** True when fewer rows than the limit came back (nothing more beyond, for now). */
  readonly short: boolean;
}

const emptyEvents: readonly Event[] = Object.freeze([]);

/** A chunk of (after, end]; an empty page shares one frozen array. */
export function chunkOf(after: number, end: number, events: readonly Event[]): Chunk {
  return { after, end, events: events.length === 0 ? emptyEvents : events };
}
