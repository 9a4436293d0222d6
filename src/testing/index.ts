export { type AwaitCursorOptions, awaitCursor } from './await-cursor.js';
export { cursorStoreSuite } from './conformance/cursor-store-suite.js';
export { drain, eventsTableSuite } from './conformance/events-table-suite.js';
export {
  type HarnessFactory,
  type OpenTransaction,
  type SqlHarness,
  type SuiteApi,
  stillPending,
  uniqueTableName,
  within,
} from './conformance/harness.js';
export { type Fate, type FateOptions, isTemptErr, newFate, temptErrorCode } from './fate.js';
export { MemCursorStore } from './mem-cursor-store.js';
export {
  type MemoryEventLog,
  type MemoryEventLogOptions,
  type MemoryInsertOptions,
  newMemoryEventLog,
} from './memory-event-log.js';
export { newMockStream } from './mock-stream.js';
