export type { MetricsRegistry } from '../internal/metrics-registry.js';
export { type Clock, systemClock } from './clock.js';
export type {
  Consumer,
  ConsumerFunc,
  ConsumerOptions,
  EventFilter,
  RecoveryFunc,
} from './consumer.js';
export { newConsumer } from './consumer.js';
export type { CursorStore } from './cursor-store.js';
export type { ErrorInsertFunc } from './error-insert.js';
export {
  codeOf,
  ErrorCode,
  type ErrorCodeValue,
  hasCode,
  isExpected,
  isFilterErr,
  isHeadReachedErr,
  isLeaseLostErr,
  isStoppedErr,
  isTransientErr,
  ReflexError,
  type ReflexErrorOptions,
} from './errors.js';
export {
  type Event,
  type EventType,
  foreignIdInt,
  idInt,
  isAnyType,
  isForeignIdInt,
  isIdInt,
  isType,
} from './event.js';
export { type Logger, noopLogger } from './logger.js';
export { type RunOptions, run } from './run.js';
export type { ShardGroupState, ShardLease, ShardLeaseStore } from './shard-leases.js';
export { newSpec, type Spec } from './spec.js';
export type {
  StreamCallOptions,
  StreamClient,
  StreamFunc,
  StreamOptions,
} from './stream.js';
export {
  activeTrace,
  decodeTrace,
  encodeTrace,
  type TraceIds,
  withTraceParent,
} from './tracing.js';
