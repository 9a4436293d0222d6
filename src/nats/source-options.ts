import type { Clock } from '../core/index.js';

/** Options of {@link JetStreamClient.source}. */
export interface JetStreamSourceOptions {
  /**
   * Deliver only the messages whose subject matches this (wildcards allowed, e.g. `orders.3` or
   * `orders.*`). Cursors stay stream sequences, so a consumer may change its filter and keep
   * its cursor. @default every message of the stream
   */
  readonly filterSubject?: string;
  /** Messages each stream asks the server for ahead of `recv` (its memory bound). @default 256 */
  readonly bufferSize?: number;
  /** The time source of `lag`. @default the system clock */
  readonly clock?: Clock;
}
