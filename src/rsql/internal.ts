// rsql's entry for its sibling packages (the CLI, the status page): the dialects, their executors
// and statements, without making them public API (not in package.json's exports; see
// docs/architecture.md). Applications use index.ts.
export type {
  CursorsSchema,
  CursorsStatements,
  Dialect,
  ErrorsSchema,
  EventsSchema,
  Executor,
  SqlValue,
} from './dialect.js';
export { dialectOf, dialects } from './dialects.js';
export { epochMsExpr, placeholders, textExpr } from './operator-sql.js';
