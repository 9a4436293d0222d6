import { invalidArgument } from '../../internal/errors.js';
import type { Executor } from '../dialect.js';
import { hasMethod, prop, type Tool, type ToolBinding } from './tool.js';
import type { DialectName, SqlExecutor } from './types.js';

const names: readonly DialectName[] = ['mysql', 'postgres', 'sqlite'];

/** The caller's own {@link SqlExecutor}: runs as it is, in whatever transaction it holds. */
export const sqlExecutorTool: Tool = {
  name: 'SqlExecutor',
  accepted: 'a SqlExecutor ({ dialect, query, execute })',
  accepts: (h) =>
    typeof prop(h, 'dialect') === 'string' && hasMethod(h, 'query') && hasMethod(h, 'execute'),
  bind(handle, option): ToolBinding {
    const h = handle as SqlExecutor;
    if (!names.includes(h.dialect)) {
      throw invalidArgument(
        `SqlExecutor dialect must be 'mysql', 'postgres' or 'sqlite', got ${JSON.stringify(h.dialect)}`,
      );
    }
    if (option !== undefined && option !== h.dialect) {
      throw invalidArgument(`dialect option is '${option}' but the SqlExecutor is on ${h.dialect}`);
    }
    const executor: Executor = {
      query: async (sql, params) => (await h.query(sql, params ?? [])) as unknown[][],
      execute: (sql, params) => h.execute(sql, params ?? []),
    };
    return { tool: 'SqlExecutor', dialect: h.dialect, executor, transaction: (fn) => fn(executor) };
  },
};
