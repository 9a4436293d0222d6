import type { Gap, GapContext, GapStrategy, GapVerdict } from '../dialect.js';

/**
 * SQLite gaps are final: a write transaction holds the database's write lock from its first
 * insert to its commit, so no other transaction can insert (or commit) meanwhile, and an
 * `INTEGER PRIMARY KEY` takes max(id)+1 — ids therefore commit in id order. A reader's snapshot
 * holds a prefix of the ids; a hole below a visible row can only come from a deleted row or an
 * explicit id, never from a transaction that may still commit. Rolled-back ids leave no hole (the
 * next insert reuses them). test/integration/sqlite proves the ordering on a real file.
 */
export const sqliteGapStrategy: GapStrategy = Object.freeze({
  resolve(_gap: Gap, _ctx: GapContext): Promise<GapVerdict> {
    return Promise.resolve('skip');
  },
});
