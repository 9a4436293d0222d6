import type { ExecResult, Executor } from '../dialect.js';
import { bindableParams } from './placeholders.js';
import {
  chooseDialect,
  hasMethod,
  prop,
  rowsAsArrays,
  type Tool,
  type ToolBinding,
} from './tool.js';
import type { DialectName, PrismaHandle } from './types.js';

// Prisma reports a raw query's database error as P2010 with the database's own code beside it
// (`meta.code`, or in the message): mapped to the driver codes the dialects classify, so that a
// duplicate key through Prisma is a duplicate (the MySQL errors table relies on it).
const mysqlCodes: Record<string, string> = {
  '1062': 'ER_DUP_ENTRY',
  '1205': 'ER_LOCK_WAIT_TIMEOUT',
  '1213': 'ER_LOCK_DEADLOCK',
  '1146': 'ER_NO_SUCH_TABLE',
  '1054': 'ER_BAD_FIELD_ERROR',
};
const sqliteCodes: Record<string, string> = {
  '1555': 'SQLITE_CONSTRAINT_PRIMARYKEY',
  '2067': 'SQLITE_CONSTRAINT_UNIQUE',
  '5': 'SQLITE_BUSY',
  '6': 'SQLITE_LOCKED',
};

function driverError(err: unknown, dialect: DialectName): unknown {
  if (!(err instanceof Error)) return err;
  const meta = prop(prop(err, 'meta'), 'code');
  const code = typeof meta === 'string' ? meta : /Code: `([^`]+)`/.exec(err.message)?.[1];
  if (code === undefined) return err;
  const mapped =
    dialect === 'mysql' ? mysqlCodes[code] : dialect === 'sqlite' ? sqliteCodes[code] : code;
  return mapped === undefined
    ? err
    : Object.assign(new Error(err.message, { cause: err }), { code: mapped });
}

// `$executeRawUnsafe` binds its values to the database's own placeholders (`$1` on PostgreSQL, `?`
// on MySQL and SQLite), which are the statements' own: nothing is spliced into the SQL text.
function prismaExecutor(h: PrismaHandle, dialect: DialectName): Executor {
  return {
    async query(sql, params) {
      try {
        return rowsAsArrays(await h.$queryRawUnsafe(sql, ...(bindableParams(params) as never[])));
      } catch (err) {
        throw driverError(err, dialect);
      }
    },
    async execute(sql, params): Promise<ExecResult> {
      try {
        const n = await h.$executeRawUnsafe(sql, ...(bindableParams(params) as never[]));
        return { affectedRows: n };
      } catch (err) {
        throw driverError(err, dialect);
      }
    },
  };
}

interface PrismaTransactions {
  $transaction<T>(fn: (tx: PrismaHandle) => Promise<T>): Promise<T>;
}

/**
 * Prisma (client or interactive transaction client) through `$executeRawUnsafe`/`$queryRawUnsafe`.
 * A Prisma client does not tell its database publicly: the table's `dialect` option names it.
 */
export const prismaTool: Tool = {
  name: 'Prisma',
  accepted: 'a Prisma client or interactive transaction (with the dialect option)',
  accepts: (h) => hasMethod(h, '$executeRawUnsafe') && hasMethod(h, '$queryRawUnsafe'),
  bind(handle, option): ToolBinding {
    const h = handle as PrismaHandle;
    const dialect = chooseDialect('Prisma', undefined, option);
    const executor = prismaExecutor(h, dialect);
    // The interactive transaction client has no `$transaction` of its own.
    const transaction = hasMethod(h, '$transaction')
      ? <T>(fn: (ex: Executor) => Promise<T>) =>
          (h as unknown as PrismaTransactions).$transaction((tx) => fn(prismaExecutor(tx, dialect)))
      : <T>(fn: (ex: Executor) => Promise<T>) => fn(executor);
    return { tool: 'Prisma', dialect, executor, transaction };
  },
};
