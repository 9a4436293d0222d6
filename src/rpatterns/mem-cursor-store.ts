import type { CursorStore } from '../core/index.js';
import { settled } from '../internal/settled.js';

/**
 * A CursorStore in memory: seeded values, last write wins, no ordering check, `flush` a no-op.
 * Safe for concurrent callers (every operation is synchronous underneath).
 */
export class MemCursorStore implements CursorStore {
  readonly #cursors = new Map<string, string>();
  /** How many times `setCursor` was called. */
  setCount = 0;
  /** How many times `flush` was called. */
  flushCount = 0;

  constructor(seed: Readonly<Record<string, string | number | bigint>> = {}) {
    for (const [name, cursor] of Object.entries(seed)) this.#cursors.set(name, String(cursor));
  }

  getCursor(name: string): Promise<string> {
    return Promise.resolve(this.#cursors.get(name) ?? '');
  }

  setCursor(name: string, cursor: string): Promise<void> {
    this.setCount++;
    this.#cursors.set(name, cursor);
    return settled;
  }

  flush(): Promise<void> {
    this.flushCount++;
    return Promise.resolve();
  }

  /** Every stored cursor. */
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.#cursors);
  }
}
