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
import type { DialectName } from './types.js';

/** A TypeORM QueryRunner: `query(sql, params, true)` answers rows and affected rows (0.3+). */
interface QueryRunner {
  query(
    sql: string,
    params: unknown[],
    structured: true,
  ): Promise<{ records?: unknown; affected?: unknown }>;
  release(): Promise<void>;
}
interface DataSource {
  readonly options: { readonly type: string };
  createQueryRunner(): QueryRunner;
  transaction<T>(fn: (manager: object) => Promise<T>): Promise<T>;
}

function dataSourceOf(h: object): DataSource | undefined {
  // A DataSource itself, or the `dataSource` (1.x) / `connection` (0.3) of a manager or runner.
  for (const ds of [h, prop(h, 'dataSource'), prop(h, 'connection')]) {
    if (
      typeof prop(prop(ds, 'options'), 'type') === 'string' &&
      hasMethod(ds, 'createQueryRunner')
    ) {
      return ds as DataSource;
    }
  }
  return undefined;
}

function typeOrmDialect(type: string): DialectName | undefined {
  if (type === 'mysql' || type === 'mariadb') return 'mysql';
  if (type === 'postgres') return 'postgres';
  if (type === 'better-sqlite3' || type === 'sqlite') return 'sqlite';
  return undefined;
}

/**
 * The query runner statements run on: the runner given, the manager's (inside
 * `transaction(async (manager) => …)`), or a fresh one of the data source (released after).
 */
function runnerOf(h: object): QueryRunner | undefined {
  if (hasMethod(h, 'startTransaction') && hasMethod(h, 'query')) return h as QueryRunner;
  const qr = prop(h, 'queryRunner');
  return hasMethod(qr, 'query') ? (qr as QueryRunner) : undefined;
}

function typeOrmExecutor(h: object, ds: DataSource): Executor {
  const own = runnerOf(h);
  const run = async (sql: string, params: readonly SqlValue[] | undefined) => {
    if (own !== undefined) return own.query(sql, bindableParams(params), true);
    const qr = ds.createQueryRunner();
    try {
      return await qr.query(sql, bindableParams(params), true);
    } finally {
      await qr.release();
    }
  };
  return {
    async query(sql, params) {
      return rowsAsArrays((await run(sql, params)).records);
    },
    async execute(sql, params): Promise<ExecResult> {
      const n = (await run(sql, params)).affected;
      return { affectedRows: typeof n === 'number' ? n : 0 };
    },
  };
}

/** TypeORM (DataSource, EntityManager, QueryRunner) over mysql2, pg or better-sqlite3. */
export const typeOrmTool: Tool = {
  name: 'TypeORM',
  accepted: 'a TypeORM DataSource, EntityManager or QueryRunner',
  accepts: (h) => hasMethod(h, 'query') && dataSourceOf(h) !== undefined,
  bind(handle, option): ToolBinding {
    const ds = dataSourceOf(handle) as DataSource;
    const dialect = chooseDialect('TypeORM', typeOrmDialect(ds.options.type), option);
    const executor = typeOrmExecutor(handle, ds);
    if (runnerOf(handle) !== undefined) {
      return {
        tool: 'TypeORM',
        dialect,
        executor,
        transaction: (fn) => fn(executor),
        perTransaction: true,
      };
    }
    const transaction = <T>(fn: (ex: Executor) => Promise<T>) =>
      ds.transaction((manager) => fn(typeOrmExecutor(manager, ds)));
    return { tool: 'TypeORM', dialect, executor, transaction };
  },
};
