/**
 * What the stream needs from a storage bucket: ordered listing and streaming reads. The three
 * implementations are {@link newDirBucket}, {@link MemoryBucket} and {@link newS3Bucket}; any
 * other store (GCS, Azure, an HTTP index…) can implement it too.
 *
 * Keys are compared as UTF-8 byte strings (as S3 does). The stream assumes an append-only log:
 * a new blob always sorts after every existing one, blobs are immutable and are not deleted
 * before every stream has read them.
 */
export interface Bucket {
  /** Names the bucket in metrics (the `bucket` label) and error messages. */
  readonly name: string;
  /**
   * The keys that start with `options.prefix` and sort strictly after `options.startAfter`, in
   * ascending order: one page of at most `options.limit` keys. An empty page means there is none.
   */
  list(options: BucketListOptions): Promise<readonly string[]>;
  /**
   * Opens blob `key` for reading. Rejects when it does not exist. The caller iterates `body`
   * once, then calls `close()` (also when it stops early).
   */
  open(key: string, options?: { readonly signal?: AbortSignal }): Promise<OpenedBlob>;
  /** Releases the connections of the bucket (an S3 client's sockets). Idempotent. */
  close?(): Promise<void>;
}

/** The arguments of {@link Bucket.list}. */
export interface BucketListOptions {
  /** Only keys starting with this string ('' = all keys). Need not end in `/`. */
  readonly prefix: string;
  /** Only keys sorting strictly after this one ('' = from the first key). */
  readonly startAfter: string;
  /** At most this many keys. */
  readonly limit: number;
  /** Aborts the listing. */
  readonly signal?: AbortSignal;
}

/** A blob opened for reading: its attributes and its bytes as a stream of chunks. */
export interface OpenedBlob {
  readonly info: BlobInfo;
  /** The stored bytes, as stored (still compressed when the blob is gzip). */
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the read (a file handle, an HTTP response). Idempotent. */
  close(): void;
}

/** The attributes of a blob. */
export interface BlobInfo {
  readonly key: string;
  /** When the blob was written; the timestamp of each of its events. */
  readonly modified: Date;
  /** Its content type, when the store keeps one (`application/gzip` means compressed). */
  readonly contentType?: string;
  /** Its content encoding, when the store keeps one (`gzip` means compressed). */
  readonly contentEncoding?: string;
}

/**
 * Compares two keys by their UTF-8 bytes, the order S3 lists them in (and the order a
 * {@link Bucket} must list keys in): negative, 0 or positive.
 *
 * @example
 * ['b', 'a/b', 'a-b'].sort(compareKeys); // ['a-b', 'a/b', 'b']
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  // Plain string comparison is byte order unless a surrogate pair is involved.
  if (!hasSurrogate(a) && !hasSurrogate(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function hasSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}
