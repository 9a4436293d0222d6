import type { TestContext } from 'node:test';

/** A transaction the suite keeps open while it streams (databases with concurrent writers only). */
export interface OpenTransaction {
  /** The driver's handle of the transaction (what `insert` takes). */
  readonly tx: unknown;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What a conformance suite needs of one database: build one per dialect (see the SQL tests). */
export interface SqlHarness {
  /** The dialect's name, for test titles. */
  readonly name: string;
  /** The pool or database the tables stream from. */
  readonly db: unknown;
  /**
   * Runs `fn` in a new transaction and commits it, or rolls it back when `rollback` is set or
   * `fn` throws. `fn` gets the driver's transaction handle.
   */
  transaction(
    fn: (tx: unknown) => Promise<void> | void,
    options?: { readonly rollback?: boolean },
  ): Promise<void>;
  /**
   * Opens a transaction and leaves it open. Undefined when the database serialises writers
   * (SQLite): then the concurrent-writer scenarios are replaced by the serialised ones.
   */
  readonly begin?: (() => Promise<OpenTransaction>) | undefined;
  /**
   * False when the dialect resolves rolled-back ids without writing noop rows (PostgreSQL decides
   * from transaction snapshots). @default true
   */
  readonly fillsGaps?: boolean | undefined;
  /** Drops a table if it exists. */
  dropTable(name: string): Promise<void>;
}

/** The minimal test API the suites use: node:test's `describe`, `it` and `after` fit. */
export interface SuiteApi {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: (t: TestContext) => Promise<void>): unknown;
  after(fn: () => Promise<void> | void): unknown;
}

/** How a suite gets its harness: `setup(t)` (undefined = skipped, e.g. no server) and `teardown()`. */
export interface HarnessFactory {
  setup(t: TestContext): Promise<SqlHarness | undefined>;
  teardown(): Promise<void>;
}

let counter = 0;

/** A table name unique to this process and run. */
export function uniqueTableName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

/** True when `p` is still pending after `ms`. */
export async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return !settled;
}

/** Settles as `p` or rejects after `ms` with a message naming `what` (a bounded wait that fails loudly). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
