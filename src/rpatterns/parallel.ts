import {
  type Consumer,
  type ConsumerFunc,
  type ConsumerOptions,
  type CursorStore,
  type Event,
  newConsumer,
  newSpec,
  type Spec,
  type StreamFunc,
  type StreamOptions,
  systemClock,
} from '../core/index.js';
import { linkedController } from '../internal/abort.js';
import { checkCursorStore } from '../internal/cursor-store-check.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, checkRequiredOptionKeys } from '../internal/options.js';
import { settled } from '../internal/settled.js';
import { type AckConsumer, type AckConsumerFunc, newAckConsumer } from './ack.js';
import { type RunForeverOptions, runForever, runForeverKeys } from './run-forever.js';

/**
 * What a shard hashes: the event id (default), its type (as a decimal string), its foreign id,
 * or a custom key of the event (bytes or a string, hashed as UTF-8). Throwing from the custom key
 * fails the consumer on that event.
 */
export type HashKey =
  | 'eventId'
  | 'eventType'
  | 'foreignId'
  | ((event: Event) => Uint8Array | string);

/** Names shard `index` (0-based) of `count` of the consumer `base`. */
export type ShardNameFormatter = (base: string, index: number, count: number) => string;

/** One shard of a sharded consumer. */
export interface ConsumerShard {
  /** The shard's consumer name (its cursor key), `"<base>_<index+1>_of_<count>"` by default. */
  readonly name: string;
  /** 0-based. */
  readonly index: number;
  readonly count: number;
  /** True when the event belongs to this shard: `fnv1Hash32(key(event)) % count === index`. */
  owns(event: Event): boolean;
}

/** Options of {@link consumerShards}. */
export interface ConsumerShardsOptions {
  /** @default 'eventId' */
  readonly hash?: HashKey;
  /** @default `${base}_${index + 1}_of_${count}` */
  readonly nameFormatter?: ShardNameFormatter;
}

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;
const encoder = new TextEncoder();

/**
 * The 32-bit FNV-1 hash (multiply, then xor: not FNV-1a) of `data` (a string is hashed as
 * UTF-8), as Go's `hash/fnv.New32`, so shards agree with Go services.
 *
 * @example
 * fnv1Hash32('Hello, World') % 3; // 1: shard 2 of 3
 */
export function fnv1Hash32(data: Uint8Array | string): number {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  let h = fnvOffset;
  for (const b of bytes) {
    h = Math.imul(h, fnvPrime) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}

function keyFn(hash: HashKey | undefined): (event: Event) => Uint8Array | string {
  switch (hash) {
    case undefined:
    case 'eventId':
      return (e) => e.id;
    case 'eventType':
      return (e) => String(e.type);
    case 'foreignId':
      return (e) => e.foreignId;
    default:
      if (typeof hash === 'function') return hash;
      throw invalidArgument(`unknown shard hash ${JSON.stringify(hash)}`);
  }
}

const defaultFormatter: ShardNameFormatter = (base, index, count) =>
  `${base}_${index + 1}_of_${count}`;

/**
 * Splits the consumer `name` into `count` shards: each event belongs to exactly one shard (by the
 * FNV-1 32-bit hash of its key, compatible with the Go original). Every shard reads the whole
 * stream and skips the others' events, so each is its own consumer with its own cursor; changing
 * `count` changes the names, hence starts fresh cursors.
 *
 * @example
 * const shards = consumerShards('mailer', 4, { hash: 'foreignId' });
 * const specs = shards.map((s) => newSpec(stream, store, parallelConsumer(s, sendMail)));
 */
export function consumerShards(
  name: string,
  count: number,
  options: ConsumerShardsOptions = {},
): ConsumerShard[] {
  checkOptionKeys(options, ['hash', 'nameFormatter'], 'consumer shards');
  if (typeof name !== 'string' || name === '')
    throw invalidArgument('shard base name must be a non-empty string');
  if (!Number.isSafeInteger(count) || count < 1) {
    throw invalidArgument(`shard count must be an integer ≥ 1, got ${count}`);
  }
  const key = keyFn(options.hash);
  const format = options.nameFormatter ?? defaultFormatter;
  const shards: ConsumerShard[] = [];
  for (let index = 0; index < count; index++) {
    shards.push(
      Object.freeze({
        name: format(name, index, count),
        index,
        count,
        owns: (e: Event) => fnv1Hash32(key(e)) % count === index,
      }),
    );
  }
  if (new Set(shards.map((s) => s.name)).size !== count) {
    throw invalidArgument('shard name formatter must give every shard a distinct name');
  }
  return shards;
}

/**
 * A consumer named after `shard` that calls `fn` only for the shard's events; the others count
 * as consumed (the cursor moves past them; no "skipped" metric). Options are `newConsumer`'s.
 *
 * @example
 * const consumer = parallelConsumer(shard, async (e) => sendMail(e.foreignId));
 */
export function parallelConsumer(
  shard: ConsumerShard,
  fn: ConsumerFunc,
  options?: ConsumerOptions,
): Consumer {
  if (typeof fn !== 'function') throw invalidArgument('consumer function must be a function');
  return newConsumer(
    shard.name,
    (e, signal) => (shard.owns(e) ? fn(e, signal) : undefined),
    options,
  );
}

/**
 * An ack consumer named after `shard` that calls `fn` only for the shard's events. The others are
 * not acknowledged (as in the Go original): they are skipped again after a restart, so the
 * cursor moves only with the shard's own acknowledgements. Run it with `newAckSpec`.
 *
 * @example
 * const consumer = parallelAckConsumer(shard, store, async (e) => {
 *   await exportOne(e);
 *   await e.ack();
 * });
 */
export function parallelAckConsumer(
  shard: ConsumerShard,
  store: CursorStore,
  fn: AckConsumerFunc,
  options?: ConsumerOptions,
): AckConsumer {
  if (typeof fn !== 'function') throw invalidArgument('consumer function must be a function');
  return newAckConsumer(
    shard.name,
    store,
    (e, signal) => (shard.owns(e) ? fn(e, signal) : undefined),
    options,
  );
}

/** Options of {@link parallelSpecs}. */
export interface ParallelSpecsOptions extends ConsumerShardsOptions {
  readonly stream: StreamFunc;
  /** Shared by the shards (each has its own cursor name). */
  readonly cursorStore: CursorStore;
  readonly fn: ConsumerFunc;
  /** Options of every shard's spec. @default none */
  readonly streamOptions?: StreamOptions;
  /** `newConsumer` options per shard, by shard name. @default none */
  readonly consumerOptions?: (shardName: string) => ConsumerOptions;
}

/**
 * `count` specs, one per shard of `name`, sharing the stream, the cursor store and `fn`: run
 * each (in this process or spread over several, e.g. with leader-elected roles).
 *
 * @example
 * const specs = parallelSpecs('mailer', 4, { stream, cursorStore: store, fn: sendMail });
 * await Promise.all(specs.map((spec) => runForever(spec, { signal })));
 */
export function parallelSpecs(name: string, count: number, options: ParallelSpecsOptions): Spec[] {
  checkRequiredOptionKeys(
    options,
    ['hash', 'nameFormatter', 'stream', 'cursorStore', 'fn', 'streamOptions', 'consumerOptions'],
    'parallelSpecs',
  );
  checkCursorStore(options.cursorStore);
  if (typeof options.stream !== 'function')
    throw invalidArgument('parallelSpecs stream must be a StreamFunc');
  const shards = consumerShards(name, count, {
    ...(options.hash === undefined ? {} : { hash: options.hash }),
    ...(options.nameFormatter === undefined ? {} : { nameFormatter: options.nameFormatter }),
  });
  return shards.map((shard) =>
    newSpec(
      options.stream,
      options.cursorStore,
      parallelConsumer(shard, options.fn, options.consumerOptions?.(shard.name)),
      options.streamOptions,
    ),
  );
}

/** Options of {@link parallel}: where to read, how to hash, and how to run each shard. */
export interface ParallelOptions extends RunForeverOptions {
  readonly stream: StreamFunc;
  readonly cursorStore: CursorStore;
  /** @default 'eventId' */
  readonly hash?: HashKey;
  /** @default none */
  readonly streamOptions?: StreamOptions;
  /**
   * Per-shard scheduling (role scheduling, as the Go original's per-shard context): called
   * before each run of shard `index`, it resolves once this process may run the shard (e.g. it
   * holds the shard's role or lease) with a signal that aborts when it may no longer. The shard
   * then runs until that signal or `signal` aborts, and `signalFor` is called again. It receives
   * `signal` (or a signal that never aborts) to give up waiting. A rejection (other than from
   * `signal` aborting) stops every shard and rejects `parallel`.
   * @default every shard runs under `signal` alone
   */
  readonly signalFor?: (index: number, signal: AbortSignal) => AbortSignal | Promise<AbortSignal>;
}

/**
 * Runs `count` shards with {@link runForever} until `signal` aborts: shard `m` is the consumer
 * `consumerFor(m)` (which names it: its cursor key), fed only the events whose hash modulo
 * `count` is `m`. Resolves once every shard has stopped.
 *
 * @example
 * await parallel(4, (m) => newConsumer(`mailer_${m}`, sendMail), { stream, cursorStore: store, signal });
 */
export async function parallel(
  count: number,
  consumerFor: (index: number) => Consumer,
  options: ParallelOptions,
): Promise<void> {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('parallel options must be an object with stream and cursorStore');
  }
  checkOptionKeys(
    options,
    [...runForeverKeys, 'stream', 'cursorStore', 'hash', 'streamOptions', 'signalFor'],
    'parallel',
  );
  const { stream, cursorStore, hash, streamOptions, signalFor, ...runOptions } = options;
  if (signalFor !== undefined && typeof signalFor !== 'function') {
    throw invalidArgument('parallel signalFor must be a function');
  }
  if (typeof stream !== 'function') throw invalidArgument('parallel stream must be a StreamFunc');
  if (typeof consumerFor !== 'function')
    throw invalidArgument('parallel consumerFor must be a function');
  checkCursorStore(cursorStore);
  const shards = consumerShards('parallel', count, hash === undefined ? {} : { hash });
  const specs = shards.map((shard) => {
    const inner = consumerFor(shard.index);
    const consumer: Consumer = {
      name: inner.name,
      consume: (e, signal) => (shard.owns(e) ? inner.consume(e, signal) : settled),
      ...(inner.reset === undefined
        ? {}
        : { reset: (signal: AbortSignal) => inner.reset?.(signal) ?? Promise.resolve() }),
      ...(inner.stop === undefined ? {} : { stop: () => inner.stop?.() ?? Promise.resolve() }),
    };
    return newSpec(stream, cursorStore, consumer, streamOptions);
  });
  if (new Set(specs.map((s) => s.name)).size !== count) {
    throw invalidArgument('parallel consumers must have distinct names (their cursor keys)');
  }
  if (signalFor === undefined) {
    await Promise.all(specs.map((spec) => runForever(spec, runOptions)));
    return;
  }
  // One shard's failure stops the others before parallel rejects: nothing is left running.
  const { controller: all, dispose } = linkedController(runOptions.signal);
  const clock = runOptions.clock ?? systemClock;
  const pauseMs = runOptions.expectedErrorBackoffMs ?? 100;
  const runShard = async (spec: Spec, index: number): Promise<void> => {
    for (;;) {
      if (all.signal.aborted) return;
      let role: AbortSignal;
      try {
        role = await signalFor(index, all.signal);
      } catch (err) {
        if (all.signal.aborted) return;
        throw err;
      }
      if (role.aborted) {
        // A role lost before its run began: pause rather than spin.
        await clock.sleep(pauseMs, all.signal).catch(() => {});
        continue;
      }
      const linked = linkedController(all.signal, role);
      try {
        await runForever(spec, { ...runOptions, signal: linked.controller.signal });
      } finally {
        linked.dispose();
      }
    }
  };
  try {
    const results = await Promise.allSettled(
      specs.map((spec, index) =>
        runShard(spec, index).catch((err: unknown) => {
          all.abort(err);
          throw err;
        }),
      ),
    );
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } finally {
    dispose();
  }
}
