// reflex-events/rsql/testing: the conformance suites of the SQL tables, run against one real
// database per dialect (see src/rsql/DIALECTS.md). Loads node:assert and node:test types only.
export { sqlCursorsTableSuite } from './cursors-table-suite.js';
export { sqlEventsTableSuite } from './events-table-suite.js';
export {
  type OpenTransaction,
  type SqlHarness,
  type SqlHarnessFactory,
  type SuiteApi,
  uniqueTableName,
} from './harness.js';
