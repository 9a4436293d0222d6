// reflex-events/rpatterns: consumption patterns built on the core (run, consumers, cursor stores).
export {
  type AckConsumer,
  type AckConsumerFunc,
  type AckEvent,
  newAckConsumer,
  newAckSpec,
} from './ack.js';
export { type AwaitEventOptions, awaitEvent } from './await-event.js';
export {
  type BatchConsumer,
  type BatchConsumerOptions,
  type BatchFunc,
  newBatchConsumer,
  newBatchSpec,
} from './batch.js';
export { type BestEffortOptions, newBestEffortConsumer } from './best-effort.js';
export { newBootstrapSpec } from './bootstrap.js';
export {
  type ConcurrentConsumer,
  type ConcurrentConsumerOptions,
  newConcurrentConsumer,
  newConcurrentSpec,
} from './concurrent.js';
export { readThroughCursorStore } from './cursor-stores.js';
export {
  type DeadLetterOptions,
  type ErrorInsertFunc,
  newDeadLetterConsumer,
} from './dead-letter.js';
export { RpatternsErrorCode } from './error-codes.js';
export { type GapSequence, newGapSequence } from './gap-sequence.js';
export { MemCursorStore } from './mem-cursor-store.js';
export {
  type ConsumerShard,
  type ConsumerShardsOptions,
  consumerShards,
  fnv1Hash32,
  type HashKey,
  type ParallelOptions,
  type ParallelSpecsOptions,
  parallel,
  parallelAckConsumer,
  parallelConsumer,
  parallelSpecs,
  type ShardNameFormatter,
} from './parallel.js';
export { newPoller, type PollerOptions, type PollFunc } from './poller.js';
export { type RunForeverOptions, runForever } from './run-forever.js';
export { runShardGroup, type ShardGroupRunOptions } from './shard-group.js';
