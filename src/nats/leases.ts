// Shard leases on a JetStream key-value bucket, for users without SQL cursors. Fencing rests on
// the bucket's compare-and-set: every write of a shard's key (acquire, renew, release, cursor)
// names the revision this member last wrote, so once another member took the shard (a new
// revision) a stale holder's write is refused by the server; a holder that has not renewed
// within the lease period (a paused process) refuses its own writes first.
import type * as Nats from 'nats';
import {
  type CursorStore,
  codeOf,
  ErrorCode,
  ReflexError,
  type ShardGroupState,
  type ShardLease,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { defaultMemberId, leaseTiming } from '../internal/lease-timing.js';
import { checkOptionKeys, intOption } from '../internal/options.js';
import type { Connection } from './connection.js';
import { natsError } from './errors.js';
import type { JetStreamLeasesOptions, JetStreamShardLeases } from './leases-options.js';

interface ShardValue {
  /** The holder's member id, '' when released. */
  readonly holder: string;
  readonly token: number;
  readonly cursors: Readonly<Record<string, string>>;
}

/** What this member holds of one shard: the revision it wrote last, and when it started that write. */
interface Held {
  readonly token: number;
  revision: number;
  /** This process's monotonic time at the start of the last accepted write (the lease's floor). */
  since: number;
  cursors: Record<string, string>;
}

const optionKeys = ['group', 'shards', 'bucket', 'leasePeriodMs', 'renewIntervalMs', 'memberId'];
const namePattern = /^[-_A-Za-z0-9]+$/;
/** JetStream's "wrong last sequence": another write came first. */
const apiWrongLastSequence = 10071;

/** Checks the options once; the bucket is opened at the first call. */
export function kvLeases(conn: Connection, options: JetStreamLeasesOptions): JetStreamShardLeases {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('JetStream leases options must be an object');
  }
  checkOptionKeys(options, optionKeys, 'JetStream leases');
  const { group } = options;
  if (typeof group !== 'string' || !namePattern.test(group)) {
    throw invalidArgument('JetStream leases group must be letters, digits, "-" and "_"');
  }
  if (options.shards === undefined) throw invalidArgument('JetStream leases shards is required');
  const shards = intOption(options.shards, 'shards', 1, 1, 65_536);
  const bucket = options.bucket ?? 'reflex_leases';
  if (typeof bucket !== 'string' || !namePattern.test(bucket)) {
    throw invalidArgument('JetStream leases bucket must be letters, digits, "-" and "_"');
  }
  const { leasePeriodMs, renewIntervalMs } = leaseTiming(options);
  const memberId = options.memberId ?? defaultMemberId();
  if (typeof memberId !== 'string' || memberId === '' || memberId.length > 200) {
    throw invalidArgument('JetStream leases memberId must be a string of 1 to 200 characters');
  }
  return new KvLeases(conn, {
    group,
    shards,
    bucket,
    leasePeriodMs,
    renewIntervalMs,
    memberId,
  });
}

interface Settings {
  readonly group: string;
  readonly shards: number;
  readonly bucket: string;
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
  readonly memberId: string;
}

class KvLeases implements JetStreamShardLeases {
  readonly group: string;
  readonly shards: number;
  readonly bucket: string;
  readonly memberId: string;
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
  readonly #conn: Connection;
  #kv: Promise<Nats.KV> | undefined;
  readonly #held = new Map<number, Held>();
  /** Writes of one shard's key, one at a time (the renewer and the cursor stores share it). */
  readonly #queues = new Map<number, Promise<unknown>>();

  constructor(conn: Connection, s: Settings) {
    this.#conn = conn;
    this.group = s.group;
    this.shards = s.shards;
    this.bucket = s.bucket;
    this.memberId = s.memberId;
    this.leasePeriodMs = s.leasePeriodMs;
    this.renewIntervalMs = s.renewIntervalMs;
  }

  #open(): Promise<Nats.KV> {
    this.#kv ??= (async () => {
      const h = await this.#conn.get();
      try {
        return await h.js.views.kv(this.bucket, { history: 1 });
      } catch (err) {
        throw natsError(err, `JetStream key-value bucket ${this.bucket}`, ErrorCode.unavailable);
      }
    })().catch((err: unknown) => {
      this.#kv = undefined;
      throw err;
    });
    return this.#kv;
  }

  #key(kind: string, id: string | number): string {
    return `${this.group}.${kind}.${id}`;
  }

  #memberKey(): string {
    return this.#key('member', Buffer.from(this.memberId).toString('base64url') || '_');
  }

  /** Runs `fn` after the shard's earlier writes. */
  #serial<T>(shard: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(shard) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.#queues.set(shard, tail);
    void tail.then(() => {
      if (this.#queues.get(shard) === tail) this.#queues.delete(shard);
    });
    return next;
  }

  /** Registers this member and returns the server's time of that write (the round's "now"). */
  async #heartbeat(kv: Nats.KV): Promise<number> {
    const key = this.#memberKey();
    try {
      await kv.put(key, JSON.stringify({ member: this.memberId }));
      const e = await kv.get(key);
      if (e === null) throw new Error('member key vanished');
      return e.created.getTime();
    } catch (err) {
      throw natsError(err, `JetStream leases ${this.group}: heartbeat`, ErrorCode.unavailable);
    }
  }

  async join(): Promise<void> {
    const kv = await this.#open();
    const key = this.#key('config', 'shards');
    try {
      await kv.create(key, JSON.stringify({ shards: this.shards }));
    } catch (err) {
      if (!isWrongSequence(err)) {
        throw natsError(err, `JetStream leases ${this.group}: join`, ErrorCode.unavailable);
      }
      const entry = await kv.get(key).catch((e: unknown) => {
        throw natsError(e, `JetStream leases ${this.group}: join`, ErrorCode.unavailable);
      });
      const stored = parseJson<{ shards?: unknown }>(entry?.string())?.shards;
      if (stored !== this.shards) {
        throw new ReflexError(
          ErrorCode.shardCountMismatch,
          `shard group ${this.group} has ${String(stored)} shards stored, this member was started with ${this.shards}: run every member with the same count, or use a new group name`,
        );
      }
    }
    await this.#heartbeat(kv);
  }

  async renew(): Promise<ShardGroupState> {
    const kv = await this.#open();
    const start = performance.now();
    const now = await this.#heartbeat(kv);
    for (const [shard, h] of [...this.#held]) {
      await this.#serial(shard, () => this.#write(kv, shard, h, h.cursors, start)).catch(
        (err: unknown) => {
          if (!isLeaseLost(err)) throw err;
        },
      );
    }
    const { holders } = await this.#read(kv, now);
    const members: string[] = [];
    try {
      // The keys first: a request made while iterating them cuts the listing short.
      const keys: string[] = [];
      for await (const key of await kv.keys(this.#key('member', '*'))) keys.push(key);
      for (const key of keys) {
        const e = await kv.get(key);
        if (e === null || e.operation !== 'PUT') continue;
        if (e.created.getTime() + this.leasePeriodMs <= now) continue;
        const m = parseJson<{ member?: unknown }>(e.string())?.member;
        if (typeof m === 'string') members.push(m);
      }
    } catch (err) {
      throw natsError(err, `JetStream leases ${this.group}: members`, ErrorCode.unavailable);
    }
    members.sort();
    const held = [...this.#held]
      .map(([shard, h]) => ({ shard, token: h.token }))
      .sort((a, b) => a.shard - b.shard);
    return { members, holders, held };
  }

  /** Every shard's entry and its live holder at the server time `now`. */
  async #read(
    kv: Nats.KV,
    now: number,
  ): Promise<{ holders: string[]; entries: (Nats.KvEntry | null)[] }> {
    const holders: string[] = [];
    const entries: (Nats.KvEntry | null)[] = [];
    try {
      for (let shard = 0; shard < this.shards; shard++) {
        const e = await kv.get(this.#key('shard', shard));
        entries.push(e);
        const v = e?.operation === 'PUT' ? parseShard(e.string()) : undefined;
        const live =
          e !== null && v !== undefined && e.created.getTime() + this.leasePeriodMs > now;
        holders.push(live ? v.holder : '');
      }
    } catch (err) {
      throw natsError(err, `JetStream leases ${this.group}: read`, ErrorCode.unavailable);
    }
    return { holders, entries };
  }

  async acquire(list: readonly number[]): Promise<ShardLease[]> {
    const wanted = this.#checkShards(list);
    const kv = await this.#open();
    const got: ShardLease[] = [];
    for (const shard of wanted) {
      if (this.#held.has(shard)) continue;
      const start = performance.now();
      const now = await this.#heartbeat(kv);
      const lease = await this.#serial(shard, async () => {
        const key = this.#key('shard', shard);
        let e: Nats.KvEntry | null;
        try {
          e = await kv.get(key);
        } catch (err) {
          throw natsError(err, `JetStream leases ${this.group}: acquire`, ErrorCode.unavailable);
        }
        const prev = e?.operation === 'PUT' ? parseShard(e.string()) : undefined;
        if (e !== null && prev !== undefined && prev.holder !== '') {
          if (e.created.getTime() + this.leasePeriodMs > now) return undefined; // live lease
        }
        const token = (prev?.token ?? 0) + 1;
        const cursors = { ...(prev?.cursors ?? {}) };
        const value = JSON.stringify({ holder: this.memberId, token, cursors });
        let revision: number;
        try {
          revision =
            e === null ? await kv.create(key, value) : await kv.update(key, value, e.revision);
        } catch (err) {
          if (isWrongSequence(err)) return undefined; // another member came first
          throw natsError(err, `JetStream leases ${this.group}: acquire`, ErrorCode.unavailable);
        }
        this.#held.set(shard, { token, revision, since: start, cursors });
        return { shard, token };
      });
      if (lease !== undefined) got.push(lease);
    }
    return got;
  }

  async release(list: readonly number[]): Promise<void> {
    const kv = await this.#open();
    for (const shard of this.#checkShards(list)) {
      const h = this.#held.get(shard);
      if (h === undefined) continue;
      this.#held.delete(shard);
      const value = JSON.stringify({ holder: '', token: h.token, cursors: h.cursors });
      await this.#serial(shard, async () => {
        try {
          await kv.update(this.#key('shard', shard), value, h.revision);
        } catch (err) {
          if (!isWrongSequence(err)) {
            throw natsError(err, `JetStream leases ${this.group}: release`, ErrorCode.unavailable);
          }
        }
      });
    }
  }

  async leave(): Promise<void> {
    await this.release([...this.#held.keys()]);
    const kv = await this.#open();
    try {
      await kv.delete(this.#memberKey());
    } catch (err) {
      throw natsError(err, `JetStream leases ${this.group}: leave`, ErrorCode.unavailable);
    }
  }

  async holders(): Promise<{ shards: number; holders: string[] }> {
    const kv = await this.#open();
    const now = await this.#heartbeat(kv);
    return { shards: this.shards, holders: (await this.#read(kv, now)).holders };
  }

  /**
   * Writes the shard's key with `cursors`, compare-and-set on the revision this member wrote
   * last. Refused (`ERR_REFLEX_LEASE_LOST`, the lease dropped) when the lease was not renewed
   * within its period by this process's clock, or when another write came in between.
   */
  async #write(
    kv: Nats.KV,
    shard: number,
    h: Held,
    cursors: Record<string, string>,
    start: number,
  ): Promise<void> {
    if (this.#held.get(shard) !== h) throw this.#lost(shard, h.token);
    if (performance.now() - h.since >= this.leasePeriodMs) {
      this.#held.delete(shard);
      throw this.#lost(shard, h.token, 'expired');
    }
    const value = JSON.stringify({ holder: this.memberId, token: h.token, cursors });
    try {
      h.revision = await kv.update(this.#key('shard', shard), value, h.revision);
    } catch (err) {
      if (!isWrongSequence(err)) {
        throw natsError(
          err,
          `JetStream leases ${this.group}: shard ${shard}`,
          ErrorCode.unavailable,
        );
      }
      if (this.#held.get(shard) === h) this.#held.delete(shard);
      throw this.#lost(shard, h.token, 'taken over');
    }
    h.since = start;
    h.cursors = cursors;
  }

  #lost(shard: number, token: number, why = 'moved on'): ReflexError {
    return new ReflexError(
      ErrorCode.leaseLost,
      `shard group ${this.group}: the lease of shard ${shard} (token ${token}) has ${why === 'moved on' ? why : `been ${why}`}; cursor write refused`,
    );
  }

  #checkShards(list: readonly number[]): number[] {
    if (!Array.isArray(list)) throw invalidArgument('shards must be an array of shard indexes');
    for (const s of list) {
      if (!Number.isSafeInteger(s) || s < 0 || s >= this.shards) {
        throw invalidArgument(`shard ${String(s)} is not in [0, ${this.shards})`);
      }
    }
    return [...new Set(list)];
  }

  cursorStore(lease: ShardLease): CursorStore & { close(): Promise<void> } {
    let refused: ReflexError | undefined;
    const check = (): Held => {
      if (refused !== undefined) throw refused;
      const h = this.#held.get(lease.shard);
      if (h === undefined || h.token !== lease.token) {
        refused = this.#lost(lease.shard, lease.token);
        throw refused;
      }
      return h;
    };
    return {
      getCursor: async (name: string) => {
        const kv = await this.#open();
        const h = this.#held.get(lease.shard);
        if (h !== undefined && h.token === lease.token) return h.cursors[name] ?? '';
        let e: Nats.KvEntry | null;
        try {
          e = await kv.get(this.#key('shard', lease.shard));
        } catch (err) {
          throw natsError(err, `JetStream leases ${this.group}: cursor`, ErrorCode.getCursor);
        }
        const v = e?.operation === 'PUT' ? parseShard(e.string()) : undefined;
        return v?.cursors[name] ?? '';
      },
      setCursor: async (name: string, cursor: string) => {
        const kv = await this.#open();
        const h = check();
        const start = performance.now();
        try {
          await this.#serial(lease.shard, () =>
            this.#write(kv, lease.shard, h, { ...h.cursors, [name]: cursor }, start),
          );
        } catch (err) {
          if (isLeaseLost(err)) refused = err as ReflexError;
          throw err;
        }
      },
      flush: async () => {
        if (refused !== undefined) throw refused;
      },
      close: async () => {
        if (refused !== undefined) throw refused;
      },
    };
  }
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function parseShard(text: string): ShardValue | undefined {
  const v = parseJson<Partial<ShardValue>>(text);
  if (v === undefined || typeof v.holder !== 'string' || typeof v.token !== 'number') {
    return undefined;
  }
  const cursors = typeof v.cursors === 'object' && v.cursors !== null ? v.cursors : {};
  return { holder: v.holder, token: v.token, cursors };
}

function isWrongSequence(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: unknown }; message?: unknown } | null;
  return (
    e?.api_error?.err_code === apiWrongLastSequence ||
    (typeof e?.message === 'string' && /wrong last sequence/i.test(e.message))
  );
}

function isLeaseLost(err: unknown): boolean {
  return codeOf(err) === ErrorCode.leaseLost;
}
