export { type BlobStreamOptions, newBlobStream } from './blob-stream.js';
export {
  type BlobInfo,
  type Bucket,
  type BucketListOptions,
  compareKeys,
  type OpenedBlob,
} from './bucket.js';
export { type BlobCursor, formatBlobCursor, parseBlobCursor } from './cursor.js';
export { type Decoder, jsonDecoder, ndjsonDecoder } from './decoder.js';
export { type DirBucketOptions, newDirBucket } from './dir-bucket.js';
export { RblobErrorCode } from './errors.js';
export { MemoryBucket, type MemoryBucketOptions, type PutOptions } from './memory-bucket.js';
export {
  newS3Bucket,
  type S3Bucket,
  type S3BucketOptions,
  type S3ClientLike,
} from './s3-bucket.js';
