import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MemoryBucket, newDirBucket, newS3Bucket } from '../../src/rblob/index.js';
import type { BucketHarness } from './rblob-suite.js';
import { S3TestServer } from './s3-test-server.js';

/** Writes `data` at `root/key` atomically (temp file, then rename), with mtime `modified`. */
async function writeBlob(
  root: string,
  key: string,
  data: string | Uint8Array,
  modified: Date,
): Promise<void> {
  const path = join(root, key);
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(root, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await writeFile(tmp, data);
  await utimes(tmp, modified, modified);
  await rename(tmp, path);
}

/** A memory bucket reading in 5-byte chunks (records straddle chunks). */
export function memoryHarness(): Promise<BucketHarness> {
  const bucket = new MemoryBucket({ chunkSize: 5 });
  return Promise.resolve({
    bucket,
    meta: true,
    put: (key, data, o = {}) => {
      bucket.put(key, data, o);
      return Promise.resolve();
    },
    cleanup: () => Promise.resolve(),
  });
}

/** A directory bucket on a fresh temp dir, reading in 7-byte chunks. */
export async function dirHarness(): Promise<BucketHarness & { dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'rblob-dir-'));
  const dir = join(root, 'bucket');
  return {
    dir,
    bucket: newDirBucket(dir, { chunkSize: 7, name: 'dir' }),
    meta: false,
    // Temp files are written beside the bucket's folder, not inside it.
    put: async (key, data, o = {}) => {
      await writeBlob(root, `bucket/${key}`, data, o.modified ?? new Date());
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** An S3 bucket served by a local S3-compatible test server on 127.0.0.1, port 0. */
export async function s3Harness(): Promise<BucketHarness & { server: S3TestServer }> {
  const root = await mkdtemp(join(tmpdir(), 'rblob-s3-'));
  const server = new S3TestServer(join(root, 'data'));
  await server.start();
  const bucket = newS3Bucket('events', {
    endpoint: server.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    bucket,
    server,
    meta: true,
    put: async (key, data, o = {}) => {
      const m: { contentType?: string; contentEncoding?: string } = {};
      if (o.contentType !== undefined) m.contentType = o.contentType;
      if (o.contentEncoding !== undefined) m.contentEncoding = o.contentEncoding;
      server.setMeta('events', key, m);
      await writeBlob(root, `data/events/${key}`, data, o.modified ?? new Date());
    },
    cleanup: async () => {
      await bucket.close();
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
