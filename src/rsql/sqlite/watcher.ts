import { type FSWatcher, watch } from 'node:fs';
import type { Logger } from '../../core/index.js';
import type { WakeupSource } from '../dialect.js';
import { HINT_GAP_MAX_MS, HINT_GAP_MS } from '../hint-gap.js';
import type { SqliteDatabase } from './driver.js';

/**
 * How long after the last change of the file `PRAGMA data_version` is checked, in ms. A commit
 * writes its WAL frames (the file event) before its fsync and before it is visible to readers,
 * so the event alone comes too early; the check finds the moment it becomes visible.
 */
const SETTLE_MS = 50;
/**
 * The pause between two checks while settling, in ms: 1 ms after a change of the file, doubling
 * while nothing becomes visible (a commit is usually visible within a millisecond of its WAL
 * write; a slow fsync is found a little later, and a lull costs a few checks, not 50).
 */
const CHECK_EVERY_MS = 1;
/** Re-arming a lost watch: doubling from the first to the last delay, in ms. */
const REARM_MIN_MS = 100;
const REARM_MAX_MS = 5000;

/**
 * Cross-process wake-ups of SQLite: watches the database's WAL file (the database file itself
 * outside WAL mode) with the OS's file notifications (inotify on Linux), and on each change
 * checks `PRAGMA data_version` on the loader's own connection (at once, then 1, 2, 4, … ms later
 * for a short while): `wake` runs as soon as a commit of another connection is visible. Then the
 * file is not watched for a pause (5 ms, doubling up to 25 ms while each pause ends on a new
 * commit), after which it is watched again and checked. Idle, it costs nothing; under a sustained
 * write rate, one check and one wake per pause. Only a hint: the loader polls
 * regardless. Undefined for an in-memory or temporary database (no other process can write it).
 */
export function sqliteWakeups(
  handle: unknown,
  wake: () => void,
  logger: Logger,
): WakeupSource | undefined {
  const db = handle as SqliteDatabase & { readonly name?: unknown; readonly memory?: unknown };
  if (db.memory === true || typeof db.name !== 'string' || db.name === '') return undefined;
  let wal: boolean;
  try {
    wal = String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
  } catch {
    return undefined;
  }
  return new SqliteFileWatcher(db, wal ? `${db.name}-wal` : db.name, wake, logger);
}

class SqliteFileWatcher implements WakeupSource {
  readonly #db: SqliteDatabase;
  readonly #path: string;
  readonly #wake: () => void;
  readonly #logger: Logger;
  #watcher: FSWatcher | undefined;
  /** The data_version last seen; undefined until the first check. */
  #version: unknown = undefined;
  #deadline = 0;
  /** The next pause while settling, in ms (CHECK_EVERY_MS again at each change of the file). */
  #step = CHECK_EVERY_MS;
  /**
   * The pause after a wake, in ms. The loader acts on at most one hint per hint gap, so watching
   * sooner only costs: during the pause the file is not watched at all (each notification wakes
   * this process, thousands per second under load, on the cores the writers need) and nothing is
   * checked. It doubles, from the hint gap (5 ms) up to 25 ms, while each pause ends on a new
   * commit, and is back at 5 ms after one that ends on none: a busy table costs ~40 checks and ~40
   * queries per second.
   */
  #pauseMs = HINT_GAP_MS;
  /** The pending check ends a pause after a wake (the file is not watched meanwhile). */
  #afterWake = false;
  #timer: NodeJS.Timeout | undefined;
  #rearm: NodeJS.Timeout | undefined;
  #rearmDelay = REARM_MIN_MS;
  #closed = false;

  constructor(db: SqliteDatabase, path: string, wake: () => void, logger: Logger) {
    this.#db = db;
    this.#path = path;
    this.#wake = wake;
    this.#logger = logger;
    try {
      this.#dataVersion();
    } catch {
      this.#closed = true; // a closed database: nothing to watch
      return;
    }
    this.#arm();
    // Anything committed between the loader's last query and the watch: the first check, however
    // it comes (this timer or a change of the file), finds no version to compare and wakes.
    this.#timer = setTimeout(() => this.#check(), 0);
  }

  #dataVersion(): unknown {
    return this.#db.pragma('data_version', { simple: true });
  }

  #arm(): void {
    if (this.#closed) return;
    try {
      const w = watch(this.#path, (event) => {
        this.#changed();
        // Renamed or deleted: the watch follows a file that is gone; watch the path again.
        if (event === 'rename') this.#lost(w, undefined);
      });
      w.on('error', (err) => this.#lost(w, err));
      this.#watcher = w;
      this.#rearmDelay = REARM_MIN_MS;
    } catch (err) {
      this.#lost(undefined, err);
    }
  }

  #lost(w: FSWatcher | undefined, err: unknown): void {
    if (w !== undefined) {
      w.close();
      if (this.#watcher === w) this.#watcher = undefined;
    }
    if (this.#closed || this.#rearm !== undefined) return;
    if (err !== undefined) {
      this.#logger.warn('sqlite file watch lost; polling meanwhile', {
        path: this.#path,
        retryInMs: this.#rearmDelay,
        error: err,
      });
    }
    this.#rearm = setTimeout(() => {
      this.#rearm = undefined;
      this.#arm();
      this.#changed(); // anything committed while not watching
    }, this.#rearmDelay);
    this.#rearmDelay = Math.min(this.#rearmDelay * 2, REARM_MAX_MS);
  }

  #changed(): void {
    if (this.#closed || this.#afterWake) return;
    this.#deadline = performance.now() + SETTLE_MS;
    this.#step = CHECK_EVERY_MS;
    // A check backing off (nothing was visible for a while): this change is checked now.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#check();
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const pauseEnded = this.#afterWake;
    if (pauseEnded) {
      this.#afterWake = false;
      // Watched again before the check: a commit written meanwhile is seen by this check, or by
      // the settling checks (its frames may have been written before the watch, visible after).
      if (this.#watcher === undefined && this.#rearm === undefined) this.#arm();
      this.#deadline = performance.now() + SETTLE_MS;
      this.#step = CHECK_EVERY_MS;
    }
    let version: unknown;
    try {
      version = this.#dataVersion();
    } catch {
      // The database was closed: the loader's own queries report it.
      return;
    }
    if (version !== this.#version) {
      this.#version = version;
      this.#wake();
      this.#pauseMs = pauseEnded ? Math.min(this.#pauseMs * 2, HINT_GAP_MAX_MS) : HINT_GAP_MS;
      this.#afterWake = true;
      this.#watcher?.close();
      this.#watcher = undefined;
      this.#timer = setTimeout(() => this.#check(), this.#pauseMs);
      return;
    }
    if (pauseEnded) this.#pauseMs = HINT_GAP_MS;
    if (performance.now() < this.#deadline) {
      this.#timer = setTimeout(() => this.#check(), this.#step);
      this.#step *= 2;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#rearm !== undefined) clearTimeout(this.#rearm);
    this.#timer = undefined;
    this.#rearm = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
