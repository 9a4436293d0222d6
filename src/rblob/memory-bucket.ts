import { ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, intOption } from '../internal/options.js';
import {
  type BlobInfo,
  type Bucket,
  type BucketListOptions,
  compareKeys,
  type OpenedBlob,
} from './bucket.js';
import { RblobErrorCode } from './errors.js';

/** Options of {@link MemoryBucket}. */
export interface MemoryBucketOptions {
  /** The bucket's name (the metrics label). @default 'memory' */
  readonly name?: string;
  /** Reads yield the bytes of a blob in chunks of at most this many bytes. @default 65536 */
  readonly chunkSize?: number;
}

/** Attributes given to {@link MemoryBucket.put}. */
export interface PutOptions {
  /** @default the current time */
  readonly modified?: Date;
  readonly contentType?: string;
  readonly contentEncoding?: string;
}

interface Stored {
  readonly info: BlobInfo;
  readonly data: Uint8Array;
}

/**
 * A bucket held in memory, for tests (yours too): `put` blobs, then stream them. Keys are kept
 * sorted; `put` of an existing key replaces it (a real log never does that).
 *
 * @example
 * const bucket = new MemoryBucket();
 * bucket.put('2026/11/28/13/a', '{"a":1}{"a":2}');
 * const stream = newBlobStream(bucket);
 */
export class MemoryBucket implements Bucket {
  readonly name: string;
  readonly #chunkSize: number;
  readonly #blobs = new Map<string, Stored>();
  #sorted: string[] | undefined = [];

  constructor(options: MemoryBucketOptions = {}) {
    checkOptionKeys(options, ['name', 'chunkSize'], 'MemoryBucket');
    const chunkSize = intOption(options.chunkSize, 'chunkSize', 65536, 1);
    this.name = options.name ?? 'memory';
    this.#chunkSize = chunkSize;
  }

  /** Stores blob `key` (a string is stored as UTF-8). */
  put(key: string, data: Uint8Array | string, options: PutOptions = {}): void {
    checkOptionKeys(options, ['modified', 'contentType', 'contentEncoding'], 'put');
    if (typeof key !== 'string' || key === '')
      throw invalidArgument('blob key must be a non-empty string');
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : Uint8Array.from(data);
    const info: { -readonly [K in keyof BlobInfo]: BlobInfo[K] } = {
      key,
      modified: options.modified ?? new Date(),
    };
    if (options.contentType !== undefined) info.contentType = options.contentType;
    if (options.contentEncoding !== undefined) info.contentEncoding = options.contentEncoding;
    if (!this.#blobs.has(key)) this.#sorted = undefined;
    this.#blobs.set(key, { info, data: bytes });
  }

  /** Removes blob `key`; true when it existed. */
  delete(key: string): boolean {
    this.#sorted = undefined;
    return this.#blobs.delete(key);
  }

  async list(options: BucketListOptions): Promise<readonly string[]> {
    options.signal?.throwIfAborted();
    this.#sorted ??= [...this.#blobs.keys()].sort(compareKeys);
    const keys = this.#sorted;
    // Binary search for the first key after startAfter.
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(keys[mid] as string, options.startAfter) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < keys.length && out.length < options.limit; i++) {
      const key = keys[i] as string;
      if (key.startsWith(options.prefix)) out.push(key);
      else if (compareKeys(key, options.prefix) > 0) break;
    }
    return out;
  }

  async open(key: string, options: { readonly signal?: AbortSignal } = {}): Promise<OpenedBlob> {
    options.signal?.throwIfAborted();
    const stored = this.#blobs.get(key);
    if (stored === undefined) {
      throw new ReflexError(
        RblobErrorCode.notFound,
        `blob ${JSON.stringify(key)} not found in bucket ${this.name}`,
      );
    }
    const chunkSize = this.#chunkSize;
    const data = stored.data;
    let closed = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < data.length && !closed; at += chunkSize) {
        yield data.subarray(at, at + chunkSize);
      }
    }
    return {
      info: stored.info,
      body: body(),
      close: () => {
        closed = true;
      },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
