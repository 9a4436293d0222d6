import type { ExecResult, Executor } from '../dialect.js';
import { bindableParams } from './placeholders.js';
import { chooseDialect, hasMethod, rowsAsArrays, type Tool, type ToolBinding } from './tool.js';
import type { PrismaHandle } from './types.js';

// `$executeRawUnsafe` binds its values to the database's own placeholders (`$1` on PostgreSQL, `?`
// on MySQL and SQLite), which are the statements' own: nothing is spliced into the SQL text.
function prismaExecutor(h: PrismaHandle): Executor {
  return {
    async query(sql, params) {
      return rowsAsArrays(await h.$queryRawUnsafe(sql, ...(bindableParams(params) as never[])));
    },
    async execute(sql, params): Promise<ExecResult> {
      return {
        affectedRows: await h.$executeRawUnsafe(sql, ...(bindableParams(params) as never[])),
      };
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
    const executor = prismaExecutor(h);
    // The interactive transaction client has no `$transaction` of its own.
    const transaction = hasMethod(h, '$transaction')
      ? <T>(fn: (ex: Executor) => Promise<T>) =>
          (h as unknown as PrismaTransactions).$transaction((tx) => fn(prismaExecutor(tx)))
      : <T>(fn: (ex: Executor) => Promise<T>) => fn(executor);
    return { tool: 'Prisma', dialect, executor, transaction };
  },
};
