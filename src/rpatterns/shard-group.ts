import {
  type Clock,
  type ConsumerFunc,
  type ConsumerOptions,
  type CursorStore,
  codeOf,
  ErrorCode,
  hasCode,
  type Logger,
  type MetricsRegistry,
  newSpec,
  noopLogger,
  ReflexError,
  type ShardGroupState,
  type ShardLease,
  type ShardLeaseStore,
  type StreamFunc,
  type StreamOptions,
  systemClock,
} from '../core/index.js';
import { linkedController, Waker } from '../internal/abort.js';
import { invalidArgument } from '../internal/errors.js';
import { counter, gauge } from '../internal/metrics.js';
import { checkOptionKeys } from '../internal/options.js';
import {
  type ConsumerShard,
  consumerShards,
  type HashKey,
  parallelConsumer,
  type ShardNameFormatter,
} from './parallel.js';
import { type RunForeverOptions, runForever, runForeverKeys } from './run-forever.js';

/** Options of {@link runShardGroup}. */
export interface ShardGroupRunOptions extends RunForeverOptions {
  /** The stream every shard reads (each skips the events of the other shards). */
  readonly stream: StreamFunc;
  /** Called for each event of a shard this process holds. */
  readonly fn: ConsumerFunc;
  /** What a shard hashes. @default 'eventId' */
  readonly hash?: HashKey;
  /** Shard cursor names. @default `${group}_${index + 1}_of_${shards}` */
  readonly nameFormatter?: ShardNameFormatter;
  /** Options of every shard's stream. @default none */
  readonly streamOptions?: StreamOptions;
  /** `newConsumer` options per shard, by shard name. @default none */
  readonly consumerOptions?: (shardName: string) => ConsumerOptions;
  /**
   * Prometheus registry for `reflex_shard_lease_held{group,shard,member}` (1 while held) and
   * `reflex_shard_lease_changes_total{group,member,change}` (acquired, lost, released).
   * @default undefined
   */
  readonly registry?: MetricsRegistry;
}

const ownKeys = [
  ...runForeverKeys,
  'stream',
  'fn',
  'hash',
  'nameFormatter',
  'streamOptions',
  'consumerOptions',
  'registry',
] as const;

interface Slot {
  readonly shard: ConsumerShard;
  lease: ShardLease | undefined;
  /** The run of the current (or a lost) lease, until it has stopped. */
  run: { readonly ac: AbortController; readonly done: Promise<void> } | undefined;
  /** Handing this shard to another member: stop the run, then release. */
  releasing: boolean;
}

interface LeaseMetrics {
  held(shard: number, value: 0 | 1): void;
  change(kind: 'acquired' | 'lost' | 'released', n: number): void;
}

function leaseMetrics(
  registry: MetricsRegistry | undefined,
  leases: ShardLeaseStore,
): LeaseMetrics {
  if (registry === undefined) return { held: () => {}, change: () => {} };
  const held = gauge(registry, {
    name: 'reflex_shard_lease_held',
    help: 'Whether this process holds the lease on a shard of a group (1) or not (0).',
    labelNames: ['group', 'shard', 'member'],
  });
  const changes = counter(registry, {
    name: 'reflex_shard_lease_changes_total',
    help: 'Shard leases acquired, lost (expired or taken over) and released by this process.',
    labelNames: ['group', 'member', 'change'],
  });
  const base = { group: leases.group, member: leases.memberId };
  return {
    held: (shard, value) => held.set({ ...base, shard: String(shard) }, value),
    change: (change, n) => {
      if (n > 0) changes.inc({ ...base, change }, n);
    },
  };
}

/**
 * The fair share of shards of the member at `rank` among `members` live members: ⌈M/N⌉ for the
 * first M mod N members (by sorted id), ⌊M/N⌋ for the others, so the shares add up to M.
 */
export function fairShare(shards: number, members: number, rank: number): number {
  if (members <= 0) return shards;
  return Math.floor(shards / members) + (rank < shards % members ? 1 : 0);
}

/**
 * Runs this process's share of a sharded consumer group until `signal` aborts. The group's
 * `shards` shards (`consumerShards` of `leases.group`) are spread by leases over every process
 * running the same group: each takes a fair share (⌈M/N⌉ or ⌊M/N⌋ of N live members), a joining
 * process takes its share as the others hand theirs over, and a process that dies has its shards
 * taken over once their leases expire (within `leasePeriodMs` plus one renewal interval).
 *
 * Each held shard runs with {@link runForever} on a cursor store fenced by its lease: when a lease
 * is lost (not renewed in time, taken over) the shard's run is aborted at once, and any cursor
 * write it still makes is refused (`ERR_REFLEX_LEASE_LOST`), so a paused process that wakes up
 * can move no cursor. Delivery stays at-least-once: after a takeover the new holder replays what
 * the old one handled after its last flushed cursor.
 *
 * It **resolves** once `signal` aborts, after every shard's run has stopped and flushed and the
 * leases are released (a clean stop hands the shards over at once). It rejects only on a shard
 * count that does not match the stored group (`ERR_REFLEX_SHARD_COUNT_MISMATCH`); database
 * errors are logged and retried at the next renewal.
 *
 * @example
 * const group = newLeasesTable('reflex_leases').toGroup(pool, { group: 'mailer', shards: 8, cursors });
 * await runShardGroup(group, { stream: events.toStream(pool), fn: sendMail, signal, logger });
 */
export async function runShardGroup(
  leases: ShardLeaseStore,
  options: ShardGroupRunOptions,
): Promise<void> {
  checkOptionKeys(options, ownKeys, 'runShardGroup');
  if (options === undefined) throw invalidArgument('runShardGroup options must be an object');
  checkLeases(leases);
  const {
    stream,
    fn,
    hash,
    nameFormatter,
    streamOptions,
    consumerOptions,
    registry,
    ...runOptions
  } = options;
  if (typeof stream !== 'function')
    throw invalidArgument('runShardGroup stream must be a StreamFunc');
  if (typeof fn !== 'function') throw invalidArgument('runShardGroup fn must be a function');
  const shards = consumerShards(leases.group, leases.shards, {
    ...(hash === undefined ? {} : { hash }),
    ...(nameFormatter === undefined ? {} : { nameFormatter }),
  });
  const group = new GroupRunner(leases, shards, {
    stream,
    fn,
    streamOptions,
    consumerOptions,
    runOptions,
    metrics: leaseMetrics(registry, leases),
  });
  await group.run(options.signal);
}

function checkLeases(leases: ShardLeaseStore): void {
  const l = leases as Partial<ShardLeaseStore> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.join !== 'function' ||
    typeof l.renew !== 'function' ||
    typeof l.acquire !== 'function' ||
    typeof l.release !== 'function' ||
    typeof l.leave !== 'function' ||
    typeof l.cursorStore !== 'function'
  ) {
    throw invalidArgument('runShardGroup leases must be a ShardLeaseStore (e.g. leases.toGroup())');
  }
  if (!(l.renewIntervalMs !== undefined && l.leasePeriodMs !== undefined)) {
    throw invalidArgument('runShardGroup leases must have leasePeriodMs and renewIntervalMs');
  }
  if (l.renewIntervalMs >= l.leasePeriodMs) {
    throw invalidArgument(
      `leasePeriodMs (${l.leasePeriodMs}) must be longer than renewIntervalMs (${l.renewIntervalMs})`,
    );
  }
}

interface RunnerConfig {
  readonly stream: StreamFunc;
  readonly fn: ConsumerFunc;
  readonly streamOptions: StreamOptions | undefined;
  readonly consumerOptions: ((shardName: string) => ConsumerOptions) | undefined;
  readonly runOptions: RunForeverOptions;
  readonly metrics: LeaseMetrics;
}

/** The renewal loop of one member: renew, drop what was lost, hand over the excess, take a share. */
class GroupRunner {
  readonly #leases: ShardLeaseStore;
  readonly #slots: Slot[];
  readonly #config: RunnerConfig;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #wake: AbortController | undefined;
  #woken = false;
  /**
   * Until when (this process's clock) the held leases are surely live: the start of the last
   * successful renewal plus the lease period. Past it, a shard's events wait for the next
   * renewal: a process paused past its lease handles nothing when it wakes before it knows.
   */
  #validUntil = Number.NEGATIVE_INFINITY;
  readonly #renewed = new Waker();

  constructor(leases: ShardLeaseStore, shards: ConsumerShard[], config: RunnerConfig) {
    this.#leases = leases;
    this.#slots = shards.map((shard) => ({
      shard,
      lease: undefined,
      run: undefined,
      releasing: false,
    }));
    this.#config = config;
    this.#clock = config.runOptions.clock ?? systemClock;
    this.#logger = config.runOptions.logger ?? noopLogger;
  }

  get #fields(): Record<string, unknown> {
    return { group: this.#leases.group, member: this.#leases.memberId };
  }

  async run(signal: AbortSignal | undefined): Promise<void> {
    const leases = this.#leases;
    let lastRenewal: number | undefined;
    try {
      for (;;) {
        if (signal?.aborted) return;
        try {
          if (lastRenewal === undefined) await leases.join();
          const startedAt = this.#clock.now();
          const state = await leases.renew();
          lastRenewal = startedAt;
          this.#validUntil = startedAt + leases.leasePeriodMs;
          this.#renewed.wake();
          await this.#reconcile(state);
        } catch (err) {
          if (hasCode(err, ErrorCode.shardCountMismatch)) throw err;
          this.#logger.warn('shard group renewal failed; retrying', {
            ...this.#fields,
            code: codeOf(err),
            error: err,
          });
          // Unrenewed for a lease period: the leases are gone, stop their runs (their writes
          // would be refused anyway).
          if (
            lastRenewal !== undefined &&
            this.#clock.now() - lastRenewal >= leases.leasePeriodMs
          ) {
            this.#dropAll('lost');
          }
        }
        await this.#sleep(leases.renewIntervalMs, signal);
      }
    } finally {
      await this.#shutdown();
    }
  }

  /** Sleeps for `ms`, or until a shard's run ends (a release or a restart is due). */
  async #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    const { controller, dispose } = linkedController(signal);
    this.#wake = controller;
    try {
      await this.#clock.sleep(ms, controller.signal);
    } catch {
      // woken, or aborted: the loop checks the signal
    } finally {
      this.#wake = undefined;
      this.#woken = false;
      dispose();
    }
  }

  #wakeUp(): void {
    if (this.#wake !== undefined) this.#wake.abort();
    else this.#woken = true;
  }

  async #reconcile(state: ShardGroupState): Promise<void> {
    const leases = this.#leases;
    const me = leases.memberId;
    const held = new Map(state.held.map((l) => [l.shard, l.token]));
    let lost = 0;
    for (const slot of this.#slots) {
      if (slot.lease !== undefined && held.get(slot.shard.index) !== slot.lease.token) {
        this.#logger.info('shard lease lost', {
          ...this.#fields,
          shard: slot.shard.index,
          token: slot.lease.token,
        });
        this.#drop(slot);
        lost++;
      }
    }
    this.#config.metrics.change('lost', lost);
    // Leases this runner does not know (never expected): hand them back.
    const strays = state.held
      .filter((l) => this.#slots[l.shard]?.lease?.token !== l.token)
      .map((l) => l.shard);
    if (strays.length > 0) await leases.release(strays);

    // Hand over the excess: stop those runs now, release once they have stopped.
    const rank = state.members.indexOf(me);
    const members = rank < 0 ? state.members.length + 1 : state.members.length;
    const target = fairShare(leases.shards, members, rank < 0 ? members - 1 : rank);
    const kept = this.#slots.filter((s) => s.lease !== undefined && !s.releasing);
    for (const slot of kept.slice(target).reverse()) {
      slot.releasing = true;
      slot.run?.ac.abort(handedOver());
    }
    const done = this.#slots.filter((s) => s.releasing && s.run === undefined);
    if (done.length > 0) {
      await leases.release(done.map((s) => s.shard.index));
      for (const slot of done) {
        this.#config.metrics.held(slot.shard.index, 0);
        slot.lease = undefined;
        slot.releasing = false;
      }
      this.#config.metrics.change('released', done.length);
    }

    // Take a share of the free shards, starting at a different place per member so that
    // members taking over at the same time rarely race for the same shard.
    const deficit = target - Math.min(kept.length, target);
    if (deficit > 0) {
      const n = leases.shards;
      const start = rank < 0 ? 0 : Math.floor((rank * n) / Math.max(members, 1));
      const free: number[] = [];
      for (let i = 0; i < n && free.length < deficit; i++) {
        const shard = (start + i) % n;
        const slot = this.#slots[shard];
        if (slot === undefined || slot.lease !== undefined || slot.run !== undefined) continue;
        if (state.holders[shard] === '') free.push(shard);
      }
      if (free.length > 0) {
        const got = await leases.acquire(free);
        for (const lease of got) {
          const slot = this.#slots[lease.shard];
          if (slot === undefined) continue;
          slot.lease = lease;
          this.#config.metrics.held(lease.shard, 1);
        }
        this.#config.metrics.change('acquired', got.length);
        if (got.length > 0) {
          this.#logger.info('shard leases acquired', {
            ...this.#fields,
            shards: got.map((l) => l.shard),
          });
        }
      }
    }
    for (const slot of this.#slots) {
      if (slot.lease !== undefined && !slot.releasing && slot.run === undefined) {
        this.#start(slot, slot.lease);
      }
    }
  }

  #start(slot: Slot, lease: ShardLease): void {
    const c = this.#config;
    const ac = new AbortController();
    const store = this.#leases.cursorStore(lease);
    const fn: ConsumerFunc = (e, signal) => {
      if (this.#clock.now() < this.#validUntil) return c.fn(e, signal);
      return this.#whenRenewed(signal).then(() => c.fn(e, signal));
    };
    const spec = newSpec(
      c.stream,
      store as CursorStore,
      parallelConsumer(slot.shard, fn, c.consumerOptions?.(slot.shard.name)),
      c.streamOptions,
    );
    const fields = { ...this.#fields, shard: slot.shard.index, token: lease.token };
    const done = runForever(spec, { ...c.runOptions, signal: ac.signal })
      .then(() => store.close())
      .catch((err: unknown) => {
        this.#logger.info('shard run stopped; its last cursor was not written', {
          ...fields,
          code: codeOf(err),
          error: err,
        });
      })
      .finally(() => {
        slot.run = undefined;
        this.#wakeUp();
      });
    slot.run = { ac, done };
  }

  /** Waits for a renewal that makes the leases live again; a lost lease aborts `signal`. */
  async #whenRenewed(signal: AbortSignal): Promise<void> {
    while (this.#clock.now() >= this.#validUntil) await this.#renewed.wait(signal);
  }

  /** Forgets a lost lease and aborts its run (which stops by itself). */
  #drop(slot: Slot): void {
    if (slot.lease !== undefined) this.#config.metrics.held(slot.shard.index, 0);
    slot.lease = undefined;
    slot.releasing = false;
    slot.run?.ac.abort(
      new ReflexError(ErrorCode.leaseLost, `shard ${slot.shard.index}: lease lost`),
    );
  }

  #dropAll(kind: 'lost'): void {
    let n = 0;
    for (const slot of this.#slots) {
      if (slot.lease !== undefined) {
        this.#drop(slot);
        n++;
      }
    }
    this.#config.metrics.change(kind, n);
  }

  /** Stops every run (each flushes its cursor), then releases every lease at once. */
  async #shutdown(): Promise<void> {
    const held = this.#slots.filter((s) => s.lease !== undefined).length;
    for (const slot of this.#slots) slot.run?.ac.abort(handedOver());
    await Promise.all(this.#slots.map((s) => s.run?.done));
    try {
      await this.#leases.leave();
      this.#config.metrics.change('released', held);
    } catch (err) {
      this.#logger.warn('shard group leave failed; the leases expire by themselves', {
        ...this.#fields,
        code: codeOf(err),
        error: err,
      });
    }
    for (const slot of this.#slots) {
      if (slot.lease !== undefined) this.#config.metrics.held(slot.shard.index, 0);
      slot.lease = undefined;
    }
  }
}

function handedOver(): ReflexError {
  return new ReflexError(ErrorCode.canceled, 'shard handed over');
}
