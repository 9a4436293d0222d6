import type { ExecResult, Executor, SqlValue } from '../dialect.js';
import { bindableParams } from './placeholders.js';
import {
  chooseDialect,
  hasMethod,
  prop,
  rowsAsArrays,
  type Tool,
  type ToolBinding,
} from './tool.js';
import type { DialectName, KyselyHandle } from './types.js';

const queryId = Object.freeze({ queryId: 'reflex-events' });

// A raw statement as Kysely's public `CompiledQuery` (what `CompiledQuery.raw` builds): Kysely runs
// it on the transaction's connection as it is, so the dialect's own placeholders stay.
function compiled(sql: string, params: readonly SqlValue[] | undefined) {
  return {
    sql,
    parameters: bindableParams(params),
    query: { kind: 'RawNode', sqlFragments: [sql], parameters: [] },
    queryId,
  };
}

interface Compilable {
  compile(): { sql: string };
}
interface Probe {
  deleteFrom(t: string): { where(c: string, op: string, v: number): Compilable };
}

/**
 * The database of a Kysely handle, from how its query compiler writes a probe (public API): the
 * smallest query that has a quoted identifier and a placeholder.
 */
function probeDialect(h: object): DialectName | undefined {
  try {
    const { sql } = (h as Probe).deleteFrom('t').where('c', '=', 1).compile();
    if (sql.includes('$1')) return 'postgres';
    if (sql.includes('`')) return 'mysql';
    if (sql.includes('"t"') && sql.includes('?')) return 'sqlite';
  } catch {
    // not a Kysely query builder after all: no dialect from the shape
  }
  return undefined;
}

/**
 * The dialect adapter of a Kysely instance or transaction, or undefined: `getExecutor()` is what
 * Kysely's own `` sql`…`.execute(trx) `` calls on it, and its `adapter` is the one object every
 * `Transaction` of an instance shares with it (one per dialect instance). Only a cache key.
 */
function adapterOf(h: object): object | undefined {
  const getExecutor = prop(h, 'getExecutor');
  if (typeof getExecutor !== 'function') return undefined;
  try {
    const a = prop(getExecutor.call(h), 'adapter');
    return typeof a === 'object' && a !== null ? a : undefined;
  } catch {
    return undefined;
  }
}

/** The probe's answer per dialect adapter (one per `Kysely` instance; the map keeps none alive). */
const probed = new WeakMap<object, DialectName>();

/**
 * The database of a Kysely handle. A `Transaction` is a new object per transaction, and the probe
 * compiles a query (most of what `insert` cost through Kysely on PostgreSQL, with the code it runs
 * cold between round trips): so it runs once per dialect adapter, and per transaction only when
 * the handle shows none.
 */
function kyselyDialect(h: object): DialectName | undefined {
  const key = adapterOf(h);
  let d = key === undefined ? undefined : probed.get(key);
  if (d === undefined) {
    d = probeDialect(h);
    if (key !== undefined && d !== undefined) probed.set(key, d);
  }
  return d;
}

interface RawExecutor {
  executeQuery(q: ReturnType<typeof compiled>): ReturnType<KyselyHandle['executeQuery']>;
}

/** Statements on one Kysely handle (a class: one allocation per transaction, no closures). */
class KyselyExecutor implements Executor {
  readonly #h: RawExecutor;
  constructor(h: KyselyHandle) {
    this.#h = h as unknown as RawExecutor;
  }
  async query(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return rowsAsArrays((await this.#h.executeQuery(compiled(sql, params))).rows);
  }
  async execute(sql: string, params?: readonly SqlValue[]): Promise<ExecResult> {
    const r = await this.#h.executeQuery(compiled(sql, params));
    return { affectedRows: Number(r.numAffectedRows ?? 0n) };
  }
}
interface KyselyTransactions {
  transaction(): { execute<T>(fn: (trx: KyselyHandle) => Promise<T>): Promise<T> };
}

/** Kysely (`Kysely` or `Transaction`) over mysql2, pg or better-sqlite3: `executeQuery` with a raw compiled query. */
export const kyselyTool: Tool = {
  name: 'Kysely',
  accepted: 'a Kysely instance or Transaction',
  accepts: (h) =>
    hasMethod(h, 'executeQuery') &&
    hasMethod(h, 'deleteFrom') &&
    typeof prop(h, 'isTransaction') === 'boolean',
  bind(handle, option): ToolBinding {
    const h = handle as KyselyHandle;
    const dialect = chooseDialect('Kysely', kyselyDialect(h), option);
    const executor = new KyselyExecutor(h);
    if (h.isTransaction) {
      return {
        tool: 'Kysely',
        dialect,
        executor,
        transaction: (fn) => fn(executor),
        perTransaction: true,
      };
    }
    const transaction = hasMethod(h, 'transaction')
      ? <T>(fn: (ex: Executor) => Promise<T>) =>
          (h as unknown as KyselyTransactions)
            .transaction()
            .execute((trx) => fn(new KyselyExecutor(trx)))
      : undefined;
    return { tool: 'Kysely', dialect, executor, transaction };
  },
};
