export { MemCursorStore } from '../rpatterns/index.js';
export { type AwaitCursorOptions, awaitCursor } from './await-cursor.js';
export { type Fate, type FateOptions, isTemptErr, newFate, TestingErrorCode } from './fate.js';
export {
  type MemoryEventLog,
  type MemoryEventLogOptions,
  type MemoryInsertOptions,
  newMemoryEventLog,
} from './memory-event-log.js';
export { newMockStream } from './mock-stream.js';
export { drain, stillPending, within } from './wait.js';
