import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  type Clock,
  ErrorCode,
  type Event,
  ReflexError,
  type StreamCallOptions,
  type StreamFunc,
  systemClock,
} from '../core/index.js';
import { invalidArgument, wrapError } from '../internal/errors.js';
import { counter } from '../internal/metrics.js';
import type { MetricsRegistry } from '../internal/metrics-registry.js';
import { checkOptionKeys, intOption, msOption } from '../internal/options.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import { validateStreamCall } from '../internal/stream-options.js';
import { type BlobInfo, type Bucket, compareKeys, type OpenedBlob } from './bucket.js';
import { type BlobCursor, formatBlobCursor, parseBlobCursor } from './cursor.js';
import { type Decoder, jsonDecoder } from './decoder.js';
import { RblobErrorCode } from './errors.js';

/** Options of {@link newBlobStream}. */
export interface BlobStreamOptions {
  /**
   * Stream only the blobs whose key starts with this. Any string: `2026/11/` (a folder) or
   * `2026/11/28/13/firehose-1-` (a file-name prefix). Cursors hold keys relative to it.
   * @default '' (every blob)
   */
  readonly prefix?: string;
  /** How long to wait before listing again when no newer blob exists, in ms. @default 60000 */
  readonly backoffMs?: number;
  /** Splits a blob into records. @default jsonDecoder (concatenated JSON values) */
  readonly decoder?: Decoder;
  /** Keys asked for per listing call (S3 returns at most 1000). @default 1000 */
  readonly listLimit?: number;
  /**
   * Where to count `reflex_rblob_read_total` (blobs opened) and `reflex_rblob_list_skip_total`
   * (listed keys skipped for being out of order; should stay 0), labelled `bucket`. Needs
   * prom-client. @default none
   */
  readonly registry?: MetricsRegistry;
  /** The `bucket` label of the metrics. @default bucket.name */
  readonly label?: string;
  /** The time source of the back-off and of `lag`. @default systemClock */
  readonly clock?: Clock;
}

const defaults = Object.freeze({ prefix: '', backoffMs: 60_000, listLimit: 1000 });

interface Resolved {
  readonly bucket: Bucket;
  readonly prefix: string;
  readonly backoffMs: number;
  readonly decoder: Decoder;
  readonly listLimit: number;
  readonly clock: Clock;
  readonly readTotal: { inc(): void } | undefined;
  readonly listSkipTotal: { inc(): void } | undefined;
}

/**
 * A stream of the records of an ordered, append-only bucket of blobs: every record of every blob
 * whose key starts with `prefix`, blob after blob in key order, record after record, then the
 * blobs written later (listed again after `backoffMs` whenever no newer blob exists).
 *
 * Each record is an event: `id` = its cursor (`<key>|<NN>|<offset>`, or `<key>|eof` for the
 * last record of a blob; see {@link formatBlobCursor}), `type` 0, `foreignId` '', `timestamp` =
 * the blob's modification time, `metadata` = the record's bytes. The `<key>` of a cursor is the
 * blob's key without `prefix`, as in the Go original (whose prefix was part of the bucket URL):
 * a cursor means the same only under the same prefix. Legacy `<key>|<offset>` cursors are
 * accepted, and any `<k>|eof` starts after every key ≤ `prefix + k`.
 *
 * Blobs are read as streams (memory: one chunk, one record and one record of look-ahead), and
 * gunzipped when the key ends in `.gz` or the blob's content encoding or type says gzip.
 *
 * Stream options: `toHead` ends with `ERR_REFLEX_HEAD_REACHED` once the newest blob is read;
 * `fromHead` lists the whole prefix once when the stream opens and starts after its newest blob
 * (one list call per 1000 keys); `lag` holds each event until it is that old (`run` applies lag
 * itself). Unknown options are refused with `ERR_REFLEX_INVALID_ARGUMENT`.
 *
 * Errors are sticky: a corrupt record (`ERR_REFLEX_DESERIALIZATION`, naming the blob and the
 * record offset), a missing blob (`ERR_REFLEX_BLOB_NOT_FOUND`), a failed read
 * (`ERR_REFLEX_BLOB_READ`) or a cursor past the end of its blob (`ERR_REFLEX_INVALID_CURSOR`)
 * ends the stream. `close()` is idempotent (the original's second Close is an error) and ends a
 * pending `recv()`, including one waiting out the back-off.
 *
 * @example
 * const stream = newBlobStream(newDirBucket('/archive'), { prefix: '2026/', backoffMs: 10_000 });
 * await run(newSpec(stream, cursors, newConsumer('archive', (e) => handle(e.metadata))));
 */
export function newBlobStream(bucket: Bucket, options: BlobStreamOptions = {}): StreamFunc {
  checkBucket(bucket);
  checkOptionKeys(
    options,
    ['prefix', 'backoffMs', 'decoder', 'listLimit', 'registry', 'label', 'clock'],
    'newBlobStream',
  );
  const prefix = options.prefix ?? defaults.prefix;
  if (typeof prefix !== 'string') throw invalidArgument('prefix must be a string');
  const backoffMs = msOption(options.backoffMs, 'backoffMs', defaults.backoffMs);
  const listLimit = intOption(options.listLimit, 'listLimit', defaults.listLimit, 1);
  const decoder = options.decoder ?? jsonDecoder;
  if (typeof decoder !== 'function') throw invalidArgument('decoder must be a function');
  const label = options.label ?? bucket.name;
  if (typeof label !== 'string') throw invalidArgument('label must be a string');
  const registry = options.registry;
  const labelled = (name: string, help: string): { inc(): void } | undefined => {
    if (registry === undefined) return undefined;
    const child = counter(registry, { name, help, labelNames: ['bucket'] }).labels(label);
    child.inc(0); // the series exists (at 0) from the start
    return child;
  };
  const resolved: Resolved = {
    bucket,
    prefix,
    backoffMs,
    decoder,
    listLimit,
    clock: options.clock ?? systemClock,
    readTotal: labelled('reflex_rblob_read_total', 'Number of blobs opened by rblob streams'),
    listSkipTotal: labelled(
      'reflex_rblob_list_skip_total',
      'Number of listed keys rblob skipped for not sorting after the previous one',
    ),
  };
  return async (after: string, callOptions?: StreamCallOptions) => {
    const opts = validateStreamCall(after, callOptions);
    const start = after === '' ? undefined : parseBlobCursor(after);
    const client = new BlobStreamClient(resolved, start, opts);
    try {
      await client.start(opts.signal);
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  };
}

function checkBucket(bucket: Bucket): void {
  if (
    typeof bucket !== 'object' ||
    bucket === null ||
    typeof bucket.list !== 'function' ||
    typeof bucket.open !== 'function' ||
    typeof bucket.name !== 'string'
  ) {
    throw invalidArgument('bucket must implement Bucket (name, list, open)');
  }
}

/** The blob being read: its reader, and the record read ahead. */
interface Current {
  readonly info: BlobInfo;
  readonly blob: OpenedBlob;
  readonly records: AsyncIterator<Uint8Array>;
  /** The offset of `lookahead` in the blob. */
  offset: number;
  lookahead: Uint8Array;
}

class BlobStreamClient extends BaseStreamClient {
  readonly #r: Resolved;
  readonly #start: BlobCursor | undefined;
  readonly #lagMs: number;
  readonly #toHead: boolean;
  readonly #fromHead: boolean;
  /** Keys after this one are still to be read. */
  #lastKey = '';
  #page: readonly string[] = [];
  /** The `#lastKey` that `#page` was listed after. */
  #listedAfter = '';
  #pageAt = 0;
  #current: Current | undefined;
  #inflight: Promise<void> = Promise.resolve();
  /** A read error met while reading ahead, reported once the record before it is delivered. */
  #deferred: unknown;

  constructor(r: Resolved, start: BlobCursor | undefined, opts: StreamCallOptions) {
    super(opts.signal);
    this.#r = r;
    this.#start = start;
    this.#lagMs = opts.lag ?? 0;
    this.#toHead = opts.toHead === true;
    this.#fromHead = opts.fromHead === true;
  }

  /** Positions the stream: after the newest blob (fromHead), or inside the cursor's blob. */
  async start(callerSignal: AbortSignal | undefined): Promise<void> {
    callerSignal?.throwIfAborted();
    const signal = this.signal;
    const work = this.#position(signal);
    this.#inflight = work.then(
      () => {},
      () => {},
    );
    await work;
  }

  async #position(signal: AbortSignal): Promise<void> {
    if (this.#fromHead) {
      for (;;) {
        const page = await this.#list(signal);
        const last = page.at(-1);
        // A page that does not move past the last key (a bucket ignoring startAfter) ends too.
        if (last === undefined || compareKeys(last, this.#lastKey) <= 0) return;
        this.#lastKey = last;
      }
    }
    const start = this.#start;
    if (start === undefined) return;
    // A cursor's key is relative to the prefix, as in the original (its prefix was the bucket's).
    const key = this.#r.prefix + start.key;
    this.#lastKey = key;
    if (start.eof) return;
    // Resume inside the blob: skip records 0..offset, then read the next one ahead.
    const current = await this.#open(key, signal);
    const cursor = formatBlobCursor(start);
    if (current === undefined) throw outOfRange(cursor, key, 0);
    // The record after the cursor's must exist: had the cursor's been the last, it would be eof.
    while (current.offset <= start.offset) {
      const record = await this.#read(current, signal);
      if (record === undefined) throw outOfRange(cursor, key, current.offset + 1);
      current.lookahead = record;
      current.offset++;
    }
  }

  protected override async pull(signal: AbortSignal): Promise<Event> {
    const work = this.#next(signal);
    this.#inflight = work.then(
      () => {},
      () => {},
    );
    try {
      return await work;
    } catch (err) {
      this.#closeCurrent();
      throw err;
    }
  }

  protected override async release(): Promise<void> {
    // Closing the blob first ends a read in flight; then wait for the pull to notice the abort.
    this.#closeCurrent();
    await this.#inflight;
    this.#closeCurrent();
  }

  async #next(signal: AbortSignal): Promise<Event> {
    if (this.#deferred !== undefined) throw this.#deferred;
    let current = this.#current;
    while (current === undefined) {
      const key = await this.#nextKey(signal);
      current = await this.#open(key, signal);
      if (current === undefined) this.#lastKey = key; // an empty blob
    }
    const record = current.lookahead;
    const offset = current.offset;
    let next: Uint8Array | undefined;
    try {
      next = await this.#read(current, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      // The record read ahead is good: deliver it, and fail on the next recv.
      this.#deferred = err;
      this.#closeCurrent();
      return this.#event(this.#cursor(current.info.key, offset), current.info, record, signal);
    }
    const key = current.info.key;
    let id: string;
    if (next === undefined) {
      id = this.#cursor(key, 'eof');
      this.#closeCurrent();
      this.#lastKey = key;
    } else {
      id = this.#cursor(key, offset);
      current.lookahead = next;
      current.offset = offset + 1;
    }
    return this.#event(id, current.info, record, signal);
  }

  /** The cursor string of a position in blob `key` (relative to the prefix). */
  #cursor(key: string, offset: number | 'eof'): string {
    const relative = key.slice(this.#r.prefix.length);
    return formatBlobCursor(
      offset === 'eof' ? { key: relative, eof: true } : { key: relative, eof: false, offset },
    );
  }

  async #event(
    id: string,
    info: BlobInfo,
    record: Uint8Array,
    signal: AbortSignal,
  ): Promise<Event> {
    const timestamp = new Date(info.modified.getTime());
    if (this.#lagMs > 0) {
      const waitMs = this.#lagMs - (this.#r.clock.now() - timestamp.getTime());
      if (waitMs > 0) await this.#r.clock.sleep(waitMs, signal);
    }
    return { id, type: 0, foreignId: '', timestamp, metadata: record };
  }

  /** The next key to read, listing (and backing off) as needed. */
  async #nextKey(signal: AbortSignal): Promise<string> {
    for (;;) {
      while (this.#pageAt < this.#page.length) {
        const key = this.#page[this.#pageAt++] as string;
        if (compareKeys(key, this.#lastKey) <= 0 || !key.startsWith(this.#r.prefix)) {
          this.#r.listSkipTotal?.inc();
          continue;
        }
        return key;
      }
      // A page whose every key was skipped moved nothing on: listing again at once would get the
      // same page (a busy loop on a bucket that ignores startAfter or prefix), so back off.
      if (this.#page.length > 0 && this.#lastKey === this.#listedAfter) await this.#backOff(signal);
      this.#listedAfter = this.#lastKey;
      const page = await this.#list(signal);
      this.#page = page;
      this.#pageAt = 0;
      if (page.length === 0) await this.#backOff(signal);
    }
  }

  /** Ends the stream at the head (toHead), or waits before listing again. */
  async #backOff(signal: AbortSignal): Promise<void> {
    if (this.#toHead) {
      throw new ReflexError(ErrorCode.headReached, 'head reached: no blob after the last one read');
    }
    await this.#r.clock.sleep(this.#r.backoffMs, signal);
    signal.throwIfAborted();
  }

  async #list(signal: AbortSignal): Promise<readonly string[]> {
    const { bucket, prefix, listLimit } = this.#r;
    try {
      const page = await bucket.list({
        prefix,
        startAfter: this.#lastKey,
        limit: listLimit,
        signal,
      });
      signal.throwIfAborted();
      return page;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw wrapError(err, `rblob: list bucket ${bucket.name}`, RblobErrorCode.read);
    }
  }

  /** Opens `key` and reads its first record ahead; undefined (and closed) when it has none. */
  async #open(key: string, signal: AbortSignal): Promise<Current | undefined> {
    const { bucket } = this.#r;
    let blob: OpenedBlob;
    try {
      blob = await bucket.open(key, { signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw wrapError(err, `rblob: open blob ${JSON.stringify(key)}`, RblobErrorCode.read);
    }
    if (signal.aborted) {
      blob.close();
      throw signal.reason;
    }
    this.#r.readTotal?.inc();
    const raw = readErrors(blob.body, key);
    const body = isGzip(blob.info) ? gunzip(raw) : raw;
    let records: AsyncIterator<Uint8Array>;
    try {
      records = this.#records(body, blob.info);
    } catch (err) {
      blob.close();
      throw err;
    }
    const current: Current = {
      info: blob.info,
      blob,
      records,
      offset: -1,
      lookahead: new Uint8Array(0),
    };
    this.#current = current;
    const first = await this.#read(current, signal);
    if (first === undefined) {
      this.#closeCurrent();
      return undefined;
    }
    current.lookahead = first;
    current.offset = 0;
    return current;
  }

  /**
   * The decoder's records of `body`. A decoder that throws at once fails like one that throws
   * from its iteration (a corrupt first record); one that returns no AsyncIterable is a bug.
   */
  #records(body: AsyncIterable<Uint8Array>, info: BlobInfo): AsyncIterator<Uint8Array> {
    let iterable: AsyncIterable<Uint8Array>;
    let iterator: AsyncIterator<Uint8Array> | undefined;
    try {
      iterable = this.#r.decoder(body, info);
      const open = (iterable as Partial<AsyncIterable<Uint8Array>> | null | undefined)?.[
        Symbol.asyncIterator
      ];
      if (typeof open === 'function') iterator = open.call(iterable);
    } catch (err) {
      const where = `rblob: blob ${JSON.stringify(info.key)} in bucket ${this.#r.bucket.name}, record 0`;
      throw wrapError(err, where, ErrorCode.deserialization);
    }
    if (typeof iterator?.next !== 'function') {
      throw invalidArgument('decoder must return an AsyncIterable');
    }
    return iterator;
  }

  /** The next non-empty record of the blob, or undefined at its end. */
  async #read(current: Current, signal: AbortSignal): Promise<Uint8Array | undefined> {
    for (;;) {
      let result: IteratorResult<Uint8Array>;
      try {
        result = await current.records.next();
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const at = current.offset + 1;
        const where = `rblob: blob ${JSON.stringify(current.info.key)} in bucket ${this.#r.bucket.name}, record ${at}`;
        throw wrapError(
          err,
          where,
          // Read failures carry their own code; anything else the decoder threw is bad data.
          ErrorCode.deserialization,
        );
      }
      signal.throwIfAborted();
      if (result.done === true) return undefined;
      if (result.value.length > 0) return result.value;
    }
  }

  #closeCurrent(): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#current = undefined;
    current.records.return?.().catch(() => {});
    current.blob.close();
  }
}

function outOfRange(cursor: string, key: string, records: number): ReflexError {
  return new ReflexError(
    ErrorCode.invalidCursor,
    `rblob: cursor ${JSON.stringify(cursor)} is out of range: blob ${JSON.stringify(key)} has only ${records} record(s)`,
  );
}

function isGzip(info: BlobInfo): boolean {
  const encoding = info.contentEncoding?.toLowerCase() ?? '';
  const type = info.contentType?.toLowerCase() ?? '';
  return (
    info.key.endsWith('.gz') ||
    encoding.split(',').some((e) => e.trim() === 'gzip') ||
    type === 'application/gzip' ||
    type === 'application/x-gzip'
  );
}

/** `body`, with its read failures marked `ERR_REFLEX_BLOB_READ` (they are not bad data). */
async function* readErrors(
  body: AsyncIterable<Uint8Array>,
  key: string,
): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    if (err instanceof ReflexError) throw err;
    throw wrapError(err, `read blob ${JSON.stringify(key)}`, RblobErrorCode.read);
  }
}

/**
 * The gunzipped bytes of `body` (concatenated gzip members included). A zero-byte body is an
 * empty blob, as a plain one is (zlib would call it truncated).
 */
async function* gunzip(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  do {
    first = await it.next();
  } while (first.done !== true && first.value.length === 0);
  if (first.done === true) return;
  const head = first.value;
  const rest = (async function* () {
    yield head;
    // The body stays open until the reader is done with it, as `yield* body` would leave it.
    yield* { [Symbol.asyncIterator]: () => it };
  })();
  const gz = createGunzip();
  // The callback form keeps pipeline from rejecting unobserved; errors reach the reader via gz.
  pipeline(Readable.from(rest, { objectMode: false }), gz, () => {});
  try {
    yield* gz;
  } catch (err) {
    if (isZlibError(err)) {
      throw new ReflexError(ErrorCode.deserialization, `corrupt gzip data: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    gz.destroy();
  }
}

function isZlibError(err: unknown): err is Error {
  return (
    err instanceof Error &&
    'code' in err &&
    typeof err.code === 'string' &&
    err.code.startsWith('Z_')
  );
}
