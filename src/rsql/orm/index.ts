import { drizzleTool } from './drizzle.js';
import { knexTool } from './knex.js';
import { kyselyTool } from './kysely.js';
import { prismaTool } from './prisma.js';
import { sqlExecutorTool } from './sql-executor.js';
import type { Tool } from './tool.js';
import { typeOrmTool } from './typeorm.js';

export type { Tool, ToolBinding } from './tool.js';
export type {
  DialectName,
  DrizzleAsyncHandle,
  DrizzleSyncHandle,
  KnexHandle,
  KyselyHandle,
  OrmHandle,
  PrismaHandle,
  SqlExecutor,
  TypeOrmDataSourceHandle,
  TypeOrmManagerHandle,
} from './types.js';

/**
 * The query builders and ORMs whose objects `insert` takes, in detection order (most specific
 * shape first). Each is recognised by its public shape; none is imported.
 */
export const tools: readonly Tool[] = [
  drizzleTool,
  kyselyTool,
  knexTool,
  typeOrmTool,
  prismaTool,
  sqlExecutorTool,
];

/** The tool whose object `handle` is, or undefined. */
export function toolOf(handle: unknown): Tool | undefined {
  if ((typeof handle !== 'object' && typeof handle !== 'function') || handle === null) {
    return undefined;
  }
  return tools.find((t) => t.accepts(handle));
}
