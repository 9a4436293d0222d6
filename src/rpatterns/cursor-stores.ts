import type { CursorStore } from '../core/index.js';
import { checkCursorStore } from '../internal/cursor-store-check.js';

/**
 * A cursor store that reads through to `fallback` when `primary` has no cursor: the fallback's
 * cursor is first written into `primary` (and flushed), then returned. Writes and flushes go to
 * `primary` only. Uses: migrating consumers to a new store; seeding a cursor.
 * Errors of either store propagate.
 *
 * A concurrent `setCursor` racing the copy may be overwritten by the older fallback value (a
 * strictly increasing store then refuses the copy, which surfaces as a `getCursor` error; the next
 * read sees the primary's value).
 *
 * @example
 * const store = readThroughCursorStore(cursors.toStore(newDb), cursors.toStore(oldDb));
 */
export function readThroughCursorStore(primary: CursorStore, fallback: CursorStore): CursorStore {
  checkCursorStore(primary);
  checkCursorStore(fallback);
  return Object.freeze({
    async getCursor(name: string): Promise<string> {
      const cursor = await primary.getCursor(name);
      if (cursor !== '') return cursor;
      const seeded = await fallback.getCursor(name);
      if (seeded === '') return '';
      await primary.setCursor(name, seeded);
      await primary.flush();
      return seeded;
    },
    setCursor: (name: string, cursor: string) => primary.setCursor(name, cursor),
    flush: () => primary.flush(),
  });
}
