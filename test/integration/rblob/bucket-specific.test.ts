import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { ErrorCode, hasCode, isHeadReachedErr } from '../../../src/core/index.js';
import {
  newBlobStream,
  newDirBucket,
  newS3Bucket,
  RblobErrorCode,
} from '../../../src/rblob/index.js';
import { dirHarness, s3Harness } from '../../support/rblob-harness.js';

const invalid = (e: unknown): boolean => hasCode(e, ErrorCode.invalidArgument);

describe('directory bucket', () => {
  it('refuses keys that would leave the directory (a cursor is user input)', async () => {
    const h = await dirHarness();
    try {
      await h.put('a.json', '1');
      const stream = newBlobStream(h.bucket);
      for (const key of ['../outside', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b', './a.json']) {
        await assert.rejects(stream(`${key}|01|0`), invalid, key);
      }
    } finally {
      await h.cleanup();
    }
  });

  it('does not list files or folders whose name holds a backslash (open refuses such keys)', async () => {
    const h = await dirHarness();
    try {
      await h.put('a\\b.json', '1');
      await h.put('b.json', '2');
      await h.put('c\\d/e.json', '3');
      await h.put('f.json', '4');
      assert.deepEqual(
        [...(await h.bucket.list({ prefix: '', startAfter: '', limit: 10 }))],
        ['b.json', 'f.json'],
      );
      const client = await newBlobStream(h.bucket)('', { toHead: true });
      const ids: string[] = [];
      for await (const e of client) ids.push(e.id);
      assert.deepEqual(ids, ['b.json|eof', 'f.json|eof']);
    } finally {
      await h.cleanup();
    }
  });

  it('treats a missing directory as an empty bucket', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rblob-none-'));
    try {
      const client = await newBlobStream(newDirBucket(join(root, 'not-yet')))('', { toHead: true });
      await assert.rejects(client.recv(), (e) => isHeadReachedErr(e));
      await client.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('validates its options', () => {
    assert.throws(() => newDirBucket(''), invalid);
    assert.throws(() => newDirBucket('/tmp', { chunkSize: 0 }), invalid);
    assert.throws(() => newDirBucket('/tmp', { prefix: 'a' } as never), invalid);
  });
});

describe('S3 bucket', () => {
  it('uses a client of your own and leaves it open on close', async () => {
    const h = await s3Harness();
    const client = new S3Client({
      endpoint: h.server.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      await h.put('2026/11/28/13/a.json', '{"a":1}');
      const bucket = newS3Bucket('events', { client, name: 'archive' });
      assert.equal(bucket.name, 'archive');
      const stream = await newBlobStream(bucket)('', { toHead: true });
      const ids: string[] = [];
      for await (const e of stream) ids.push(e.id);
      assert.deepEqual(ids, ['2026/11/28/13/a.json|eof']);
      await bucket.close();
      await bucket.close();
      assert.deepEqual(
        [
          ...(await newS3Bucket('events', { client }).list({
            prefix: '',
            startAfter: '',
            limit: 5,
          })),
        ],
        ['2026/11/28/13/a.json'],
      );
      assert.ok(h.server.requests.get >= 1);
    } finally {
      client.destroy();
      await h.cleanup();
    }
  });

  it('lists with Prefix and StartAfter, so a long archive is not listed from its start', async () => {
    const h = await s3Harness();
    try {
      await h.put('2026/11/28/13/a.json', '1');
      await h.put('2026/11/28/14/b.json', '2');
      const stream = await newBlobStream(h.bucket, { prefix: '2026/11/' })('28/13/a.json|eof', {
        toHead: true,
      });
      const ids: string[] = [];
      for await (const e of stream) ids.push(e.id);
      assert.deepEqual(ids, ['28/14/b.json|eof']);
      const first = h.server.listQueries[0];
      assert.equal(first?.get('prefix'), '2026/11/');
      assert.equal(first?.get('start-after'), '2026/11/28/13/a.json');
      assert.equal(h.server.listQueries.at(-1)?.get('start-after'), '2026/11/28/14/b.json');
    } finally {
      await h.cleanup();
    }
  });

  it('refuses a closed bucket, conflicting and unknown options', async () => {
    assert.throws(() => newS3Bucket(''), invalid);
    assert.throws(() => newS3Bucket('b', { bogus: 1 } as never), invalid);
    assert.throws(
      () => newS3Bucket('b', { client: { send: () => Promise.resolve({}) }, region: 'x' }),
      invalid,
    );
    assert.throws(() => newS3Bucket('b', { client: {} as never }), invalid);
    const b = newS3Bucket('b', { endpoint: 'http://127.0.0.1:1', forcePathStyle: true });
    await b.close();
    // The message tells it from an unreachable endpoint (same code): refused before any request.
    await assert.rejects(b.list({ prefix: '', startAfter: '', limit: 1 }), {
      code: RblobErrorCode.read,
      message: /is closed/,
    });
  });

  it('reports an unreachable endpoint as ERR_REFLEX_BLOB_READ', async () => {
    const client = new S3Client({
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const stream = await newBlobStream(newS3Bucket('events', { client }))('');
      await assert.rejects(
        stream.recv(),
        (e) => hasCode(e, RblobErrorCode.read) && /list bucket events/.test(String(e)),
      );
      await stream.close();
    } finally {
      client.destroy();
    }
  });
});
