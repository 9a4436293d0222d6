import type * as S3 from '@aws-sdk/client-s3';
import { ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys } from '../internal/options.js';
import type { BlobInfo, Bucket, BucketListOptions, OpenedBlob } from './bucket.js';
import { RblobErrorCode } from './errors.js';

/**
 * An S3 client as far as rblob uses it: an `S3Client` of `@aws-sdk/client-s3` v3 fits. Typed
 * structurally so that the public API does not depend on the AWS SDK's types.
 */
export interface S3ClientLike {
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  destroy?(): void;
}

/** Options of {@link newS3Bucket}. */
export interface S3BucketOptions {
  /** The bucket's name in metrics and messages. @default the bucket name */
  readonly name?: string;
  /** The region. @default the AWS SDK's own resolution (AWS_REGION, config files), else 'us-east-1' with an endpoint */
  readonly region?: string;
  /** An S3-compatible endpoint (MinIO, R2, …), e.g. `http://127.0.0.1:9000`. @default AWS */
  readonly endpoint?: string;
  /** Address buckets by path (`endpoint/bucket/key`), as MinIO needs. @default false */
  readonly forcePathStyle?: boolean;
  /** Static credentials. @default the AWS SDK's credential chain (environment, profile, role) */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /**
   * Your own client (then region, endpoint, forcePathStyle and credentials must be left out,
   * and `close()` leaves the client open). @default a client made from the options above
   */
  readonly client?: S3ClientLike;
}

type S3Module = typeof S3;

let s3Module: Promise<S3Module> | undefined;

/** @aws-sdk/client-s3, loaded on first use: only users of S3 buckets need it installed. */
function loadS3(): Promise<S3Module> {
  s3Module ??= import('@aws-sdk/client-s3').catch((err: unknown) => {
    s3Module = undefined;
    throw invalidArgument(
      'an S3 bucket needs the optional peer dependency @aws-sdk/client-s3: npm install @aws-sdk/client-s3',
      err,
    );
  });
  return s3Module;
}

/**
 * A bucket on S3 or an S3-compatible store (MinIO, Cloudflare R2, Ceph…), read with
 * ListObjectsV2 (`Prefix`, `StartAfter`) and GetObject. Needs the optional peer dependency
 * `@aws-sdk/client-s3` (v3), loaded on first use. `close()` destroys the client it made.
 *
 * @example
 * const bucket = newS3Bucket('firehose-archive', { region: 'eu-west-1' });
 * const minio = newS3Bucket('events', {
 *   endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: 'us-east-1',
 *   credentials: { accessKeyId: 'minio', secretAccessKey: 'minio123' },
 * });
 */
export function newS3Bucket(
  bucket: string,
  options: S3BucketOptions = {},
): Bucket & {
  close(): Promise<void>;
} {
  if (typeof bucket !== 'string' || bucket === '') {
    throw invalidArgument('the S3 bucket name must be a non-empty string');
  }
  checkOptionKeys(
    options,
    ['name', 'region', 'endpoint', 'forcePathStyle', 'credentials', 'client'],
    'newS3Bucket',
  );
  if (
    options.client !== undefined &&
    (options.region !== undefined ||
      options.endpoint !== undefined ||
      options.forcePathStyle !== undefined ||
      options.credentials !== undefined)
  ) {
    throw invalidArgument(
      'newS3Bucket: give either client or region/endpoint/forcePathStyle/credentials, not both',
    );
  }
  if (options.client !== undefined && typeof options.client.send !== 'function') {
    throw invalidArgument('newS3Bucket: client must have a send method');
  }
  return new ClientS3Bucket(bucket, options);
}

/** A bucket on S3 made by {@link newS3Bucket}: close it (or `await using` it) to free its sockets. */
export interface S3Bucket extends Bucket, AsyncDisposable {
  /** Destroys the client the bucket made (not one you gave). Idempotent. */
  close(): Promise<void>;
}

class ClientS3Bucket implements S3Bucket {
  readonly name: string;
  readonly #bucket: string;
  readonly #options: S3BucketOptions;
  #client: S3ClientLike | undefined;
  #closed = false;

  constructor(bucket: string, options: S3BucketOptions) {
    this.#bucket = bucket;
    this.name = options.name ?? bucket;
    this.#options = options;
    this.#client = options.client;
  }

  async #send(s3: S3Module, command: object, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.#closed)
      throw new ReflexError(RblobErrorCode.read, `S3 bucket ${this.name} is closed`);
    if (this.#client === undefined) {
      const o = this.#options;
      const config: S3.S3ClientConfig = {};
      if (o.region !== undefined) config.region = o.region;
      else if (o.endpoint !== undefined) config.region = 'us-east-1';
      if (o.endpoint !== undefined) config.endpoint = o.endpoint;
      if (o.forcePathStyle !== undefined) config.forcePathStyle = o.forcePathStyle;
      if (o.credentials !== undefined) config.credentials = { ...o.credentials };
      this.#client = new s3.S3Client(config);
    }
    return this.#client.send(command, signal === undefined ? {} : { abortSignal: signal });
  }

  async list(options: BucketListOptions): Promise<readonly string[]> {
    options.signal?.throwIfAborted();
    const s3 = await loadS3();
    let token: string | undefined;
    for (;;) {
      const input: S3.ListObjectsV2CommandInput = {
        Bucket: this.#bucket,
        MaxKeys: Math.min(options.limit, 1000),
      };
      if (options.prefix !== '') input.Prefix = options.prefix;
      if (options.startAfter !== '') input.StartAfter = options.startAfter;
      if (token !== undefined) input.ContinuationToken = token;
      const out = (await this.#send(
        s3,
        new s3.ListObjectsV2Command(input),
        options.signal,
      )) as S3.ListObjectsV2CommandOutput;
      const keys = (out.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
      // An empty page means "no more" to the stream: follow a truncated empty page.
      if (keys.length > 0 || out.IsTruncated !== true || out.NextContinuationToken === undefined) {
        return keys;
      }
      token = out.NextContinuationToken;
    }
  }

  async open(key: string, options: { readonly signal?: AbortSignal } = {}): Promise<OpenedBlob> {
    options.signal?.throwIfAborted();
    const s3 = await loadS3();
    let out: S3.GetObjectCommandOutput;
    try {
      out = (await this.#send(
        s3,
        new s3.GetObjectCommand({ Bucket: this.#bucket, Key: key }),
        options.signal,
      )) as S3.GetObjectCommandOutput;
    } catch (err) {
      if (isNoSuchKey(err)) {
        throw new ReflexError(
          RblobErrorCode.notFound,
          `blob ${JSON.stringify(key)} not found in bucket ${this.name}`,
          { cause: err },
        );
      }
      throw err;
    }
    const body = out.Body as unknown as
      | (AsyncIterable<Uint8Array> & { destroy?(): void })
      | undefined;
    const info: { -readonly [K in keyof BlobInfo]: BlobInfo[K] } = {
      key,
      modified: out.LastModified ?? new Date(0),
    };
    if (out.ContentType !== undefined) info.contentType = out.ContentType;
    if (out.ContentEncoding !== undefined) info.contentEncoding = out.ContentEncoding;
    return {
      info,
      body: body ?? emptyBody(),
      close: () => body?.destroy?.(),
    };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#options.client === undefined) this.#client?.destroy?.();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

function isNoSuchKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ('name' in err && (err.name === 'NoSuchKey' || err.name === 'NotFound')) return true;
  const meta = '$metadata' in err ? (err.$metadata as { httpStatusCode?: number }) : undefined;
  return meta?.httpStatusCode === 404;
}
