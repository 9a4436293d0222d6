import type { Event } from '../../core/index.js';

/**
 * The events of one page, written over the driver's own rows array: event k takes slot k, and
 * k never passes the row being decoded, so a page costs no second array and nothing grows while
 * a catch-up decodes a million rows. Each row must be read before the next `put`.
 *
 * @example
 * const page = new RowPage(rows);
 * for (const row of rows) if (keep(row)) page.put(decode(row));
 * const events = page.take(); // the same array, now holding events only
 */
export class RowPage {
  readonly #slots: unknown[];
  #kept = 0;

  constructor(rows: unknown[][]) {
    this.#slots = rows;
  }

  /** How many events were put so far. */
  get size(): number {
    return this.#kept;
  }

  /** Stores the next event, in the slot of a row already read. */
  put(event: Event): void {
    this.#slots[this.#kept++] = event;
  }

  /** The events put, in order, in the rows' array (the rows after them are dropped). Once. */
  take(): Event[] {
    this.#slots.length = this.#kept;
    return this.#slots as Event[];
  }
}
