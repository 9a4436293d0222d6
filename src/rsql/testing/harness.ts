import type { TestContext } from 'node:test';
import type { SqlDatabase, SqlTransaction } from '../index.js';

/** A transaction the suite keeps open while it streams (databases with concurrent writers only). */
export interface OpenTransaction {
  /** The driver's handle of the transaction (what `insert` takes). */
  readonly tx: SqlTransaction;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What the SQL conformance suites need of one database: build one per dialect (see the SQL tests). */
export interface SqlHarness {
  /** The dialect's name, for test titles. */
  readonly name: string;
  /** The pool or database the tables stream from. */
  readonly db: SqlDatabase;
  /**
   * Runs `fn` in a new transaction and commits it, or rolls it back when `rollback` is set or
   * `fn` throws. `fn` gets the driver's transaction handle.
   */
  transaction(
    fn: (tx: SqlTransaction) => Promise<void> | void,
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
export interface SqlHarnessFactory {
  setup(t: TestContext): Promise<SqlHarness | undefined>;
  teardown(): Promise<void>;
}

let counter = 0;

/** A table name unique to this process and run. */
export function uniqueTableName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}
