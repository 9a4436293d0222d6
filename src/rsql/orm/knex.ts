import type { ExecResult, Executor, SqlValue } from '../dialect.js';
import { bindableParams, orderedParams, splitPlaceholders } from './placeholders.js';
import {
  chooseDialect,
  hasMethod,
  prop,
  rowsAsArrays,
  type Tool,
  type ToolBinding,
} from './tool.js';
import type { DialectName, KnexHandle } from './types.js';

/** The database of a knex handle, from its client's public `dialect` (or the configured client). */
function knexDialect(h: KnexHandle): DialectName | undefined {
  const client = h.client;
  const names = [
    prop(client, 'dialect'),
    prop(client, 'driverName'),
    prop(prop(client, 'config'), 'client'),
  ];
  for (const n of names) {
    if (typeof n !== 'string') continue;
    if (n === 'mysql' || n === 'mysql2') return 'mysql';
    if (n === 'postgresql' || n === 'postgres' || n === 'pg') return 'postgres';
    if (n === 'sqlite3' || n === 'better-sqlite3') return 'sqlite';
  }
  return undefined;
}

function knexExecutor(h: KnexHandle, dialect: DialectName): Executor {
  // knex binds `?` placeholders (and writes `$n` for pg itself): a pg statement is rewritten once.
  const run = (sql: string, params: readonly SqlValue[] | undefined): PromiseLike<unknown> => {
    if (dialect !== 'postgres') return h.raw(sql, bindableParams(params) as never[]);
    const s = splitPlaceholders(sql, dialect);
    return h.raw(s.strings.join('?'), orderedParams(s, params ?? []) as never[]);
  };
  return {
    async query(sql, params) {
      const r = await run(sql, params);
      // mysql2: [rows, fields]; pg: a Result; better-sqlite3: the rows.
      if (dialect === 'mysql') return rowsAsArrays((r as unknown[])[0]);
      if (dialect === 'postgres') return rowsAsArrays(prop(r, 'rows'));
      return rowsAsArrays(r);
    },
    async execute(sql, params): Promise<ExecResult> {
      const r = await run(sql, params);
      const n =
        dialect === 'mysql'
          ? prop((r as unknown[])[0], 'affectedRows')
          : dialect === 'postgres'
            ? prop(r, 'rowCount')
            : prop(r, 'changes');
      return { affectedRows: typeof n === 'number' ? n : 0 };
    },
  };
}

interface KnexTransactions {
  transaction<T>(fn: (trx: KnexHandle) => Promise<T>): Promise<T>;
}

/** knex (instance or `trx`) over mysql2, pg or better-sqlite3: `raw` with `?` bindings. */
export const knexTool: Tool = {
  name: 'knex',
  accepted: 'a knex instance or transaction',
  accepts: (h) =>
    typeof h === 'function' &&
    hasMethod(h, 'raw') &&
    hasMethod(h, 'transaction') &&
    typeof prop(h, 'client') === 'object',
  bind(handle, option): ToolBinding {
    const h = handle as KnexHandle;
    const dialect = chooseDialect('knex', knexDialect(h), option);
    const executor = knexExecutor(h, dialect);
    if (prop(h, 'isTransaction') === true) {
      return {
        tool: 'knex',
        dialect,
        executor,
        transaction: (fn) => fn(executor),
        perTransaction: true,
      };
    }
    const transaction = <T>(fn: (ex: Executor) => Promise<T>) =>
      (h as unknown as KnexTransactions).transaction((trx) => fn(knexExecutor(trx, dialect)));
    return { tool: 'knex', dialect, executor, transaction };
  },
};
