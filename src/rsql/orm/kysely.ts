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

// A raw statement as Kysely's public `CompiledQuery` (what `CompiledQuery.raw` builds): Kysely runs
// it on the transaction's connection as it is, so the dialect's own placeholders stay.
function compiled(sql: string, params: readonly SqlValue[]) {
  return {
    sql,
    parameters: bindableParams(params),
    query: { kind: 'RawNode', sqlFragments: [sql], parameters: [] },
    queryId: { queryId: 'reflex-events' },
  };
}

interface Compilable {
  compile(): { sql: string };
}
interface Probe {
  deleteFrom(t: string): { where(c: string, op: string, v: number): Compilable };
}

/**
 * The database of a Kysely handle, from how its query compiler writes a probe (public API). Kysely
 * shows nothing public that a transaction shares with its instance, so each `trx` is probed once:
 * the smallest query that has a quoted identifier and a placeholder (a few µs).
 */
function kyselyDialect(h: object): DialectName | undefined {
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

interface RawExecutor {
  executeQuery(q: ReturnType<typeof compiled>): ReturnType<KyselyHandle['executeQuery']>;
}

function kyselyExecutor(handle: KyselyHandle): Executor {
  const h = handle as unknown as RawExecutor;
  return {
    async query(sql, params) {
      return rowsAsArrays((await h.executeQuery(compiled(sql, params ?? []))).rows);
    },
    async execute(sql, params): Promise<ExecResult> {
      const r = await h.executeQuery(compiled(sql, params ?? []));
      return { affectedRows: Number(r.numAffectedRows ?? 0n) };
    },
  };
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
    const executor = kyselyExecutor(h);
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
            .execute((trx) => fn(kyselyExecutor(trx)))
      : undefined;
    return { tool: 'Kysely', dialect, executor, transaction };
  },
};
