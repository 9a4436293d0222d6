import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ErrorCode, hasCode, isHeadReachedErr } from '../../src/core/index.js';
import {
  type Bucket,
  type BucketListOptions,
  type Decoder,
  MemoryBucket,
  newBlobStream,
  type OpenedBlob,
  RblobErrorCode,
} from '../../src/rblob/index.js';
import { ManualClock } from '../support/manual-clock.js';

/** A bucket around a MemoryBucket that counts opens and closes and can misbehave on demand. */
class TrackingBucket implements Bucket {
  readonly name = 'tracking';
  readonly inner = new MemoryBucket({ chunkSize: 3 });
  opened = 0;
  closed = 0;
  listHook: ((o: BucketListOptions) => Promise<readonly string[]>) | undefined;
  openHook: ((key: string) => Promise<OpenedBlob>) | undefined;

  list(o: BucketListOptions): Promise<readonly string[]> {
    return this.listHook?.(o) ?? this.inner.list(o);
  }

  async open(key: string, o?: { signal?: AbortSignal }): Promise<OpenedBlob> {
    const blob = await (this.openHook?.(key) ?? this.inner.open(key, o));
    this.opened++;
    let done = false;
    return {
      info: blob.info,
      body: blob.body,
      close: () => {
        if (!done) this.closed++;
        done = true;
        blob.close();
      },
    };
  }
}

describe('rblob stream', () => {
  it('closes every blob it opens: at the end of each blob, on close mid-blob, after an error', async () => {
    const b = new TrackingBucket();
    b.inner.put('a', '1 2 3');
    b.inner.put('b', '');
    b.inner.put('c', '4 5');
    b.inner.put('d', '6 } 7');
    const stream = newBlobStream(b);
    const client = await stream('', { toHead: true });
    for (let i = 0; i < 4; i++) await client.recv();
    assert.equal(b.opened, 3);
    assert.equal(b.closed, 2, 'a and the empty b are closed; c is open');
    await client.close();
    assert.equal(b.closed, 3);

    const failing = await stream('c|eof', { toHead: true });
    assert.equal((await failing.recv()).id, 'd|01|0');
    await assert.rejects(failing.recv(), (e) => hasCode(e, ErrorCode.deserialization));
    assert.equal(b.opened, b.closed);
    await failing.close();
  });

  it('close ends a read that waits on the blob and releases it', async () => {
    const b = new TrackingBucket();
    b.inner.put('a', 'x');
    let release: () => void = () => {};
    let reached: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    b.openHook = (key) =>
      Promise.resolve({
        info: { key, modified: new Date(0) },
        body: (async function* () {
          yield new TextEncoder().encode('{"a":1}');
          await new Promise<void>((resolve) => {
            release = resolve;
            reached();
          });
        })(),
        close: () => release(),
      });
    const client = await newBlobStream(b)('');
    const pending = client.recv();
    await waiting; // the stream waits for the bytes after the first record
    await client.close();
    await assert.rejects(pending, (e) => hasCode(e, ErrorCode.closed));
    assert.equal(b.opened, 1);
    assert.equal(b.closed, 1);
  });

  it('streams a blob without loading it whole: records flow from an endless blob', async () => {
    const b = new TrackingBucket();
    b.inner.put('endless', 'x');
    let chunksRead = 0;
    b.openHook = (key) =>
      Promise.resolve({
        info: { key, modified: new Date(0) },
        body: (async function* () {
          for (let i = 0; ; i++) {
            chunksRead++;
            yield new TextEncoder().encode(`{"i":${i}}\n`);
          }
        })(),
        close: () => {},
      });
    const client = await newBlobStream(b)('');
    for (let i = 0; i < 1000; i++) {
      const e = await client.recv();
      assert.equal(e.id, `endless|${String(String(i).length).padStart(2, '0')}|${i}`);
    }
    assert.ok(chunksRead <= 1002, `read ahead only one record, read ${chunksRead} chunks`);
    await client.close();
    assert.equal(b.closed, 1);
  });

  it('skips listed keys that do not sort after the last one or miss the prefix, counting them', async () => {
    const b = new TrackingBucket();
    b.inner.put('k1', '1');
    b.inner.put('k2', '2');
    let calls = 0;
    b.listHook = async (o) => {
      calls++;
      if (calls === 1) return ['k1'];
      if (calls === 2) return ['k0', 'k1', 'x/other', 'k2'];
      return b.inner.list(o);
    };
    const registry = new Registry();
    const client = await newBlobStream(b, { prefix: 'k', registry })('', { toHead: true });
    const ids: string[] = [];
    for await (const e of client) ids.push(e.id);
    assert.deepEqual(ids, ['1|eof', '2|eof'], 'cursor keys are relative to the prefix');
    const text = await registry.metrics();
    assert.match(text, /reflex_rblob_list_skip_total\{bucket="tracking"\} 3\b/);
    assert.match(text, /reflex_rblob_read_total\{bucket="tracking"\} 2\b/);
  });

  it('backs off when every key of a listed page is skipped, instead of listing again at once', async () => {
    const b = new TrackingBucket();
    b.inner.put('k1', '1');
    let calls = 0;
    // A bucket that ignores startAfter and prefix: the same page for ever.
    b.listHook = async () => {
      calls++;
      if (calls > 20) throw new Error('listed again without backing off');
      return ['j9', 'k1'];
    };
    const check = (e: unknown): boolean => isHeadReachedErr(e);
    const toHead = await newBlobStream(b, { prefix: 'k' })('1|eof', { toHead: true });
    await assert.rejects(toHead.recv(), check);
    assert.equal(calls, 1, 'toHead ends at the head after one fruitless page');
    await toHead.close();

    calls = 0;
    const clock = new ManualClock();
    const client = await newBlobStream(b, { prefix: 'k', clock, backoffMs: 5000 })('1|eof');
    const pending = client.recv();
    assert.equal(await clock.nextSleep(), 5000);
    assert.equal(calls, 1);
    clock.release();
    assert.equal(await clock.nextSleep(), 5000);
    assert.equal(calls, 2, 'one listing per back-off');
    await client.close();
    await assert.rejects(pending, (e) => hasCode(e, ErrorCode.closed));

    // fromHead stops listing when a page does not move past the newest key.
    calls = 0;
    const head = await newBlobStream(b)('', { fromHead: true, toHead: true });
    assert.equal(calls, 2);
    await assert.rejects(head.recv(), check);
    await head.close();
  });

  it('reports a failed listing as ERR_REFLEX_BLOB_READ, keeping the cause; sticky', async () => {
    const b = new TrackingBucket();
    const cause = new Error('connection reset');
    b.listHook = () => Promise.reject(cause);
    const client = await newBlobStream(b)('');
    const check = (e: unknown): boolean =>
      hasCode(e, RblobErrorCode.read) &&
      /list bucket tracking: connection reset/.test(String(e)) &&
      (e as Error).cause === cause;
    await assert.rejects(client.recv(), check);
    await assert.rejects(client.recv(), check);
    await client.close();
  });

  it('reports a failed open and a failed read as ERR_REFLEX_BLOB_READ', async () => {
    const b = new TrackingBucket();
    b.inner.put('a', '1');
    b.openHook = () => Promise.reject(new Error('access denied'));
    await assert.rejects(
      newBlobStream(b)('a|01|0'),
      (e) => hasCode(e, RblobErrorCode.read) && /open blob "a": access denied/.test(String(e)),
    );
    b.openHook = (key) =>
      Promise.resolve({
        info: { key, modified: new Date(0) },
        body: (async function* () {
          yield new TextEncoder().encode('{"a":1} {"a"');
          throw new Error('socket hang up');
        })(),
        close: () => {},
      });
    const client = await newBlobStream(b)('', { toHead: true });
    assert.equal((await client.recv()).id, 'a|01|0', 'the record before the failure is delivered');
    await assert.rejects(
      client.recv(),
      (e) =>
        hasCode(e, RblobErrorCode.read) &&
        /blob "a" in bucket tracking, record 1: read blob "a": socket hang up/.test(String(e)),
    );
    await client.close();
  });

  it('treats an error thrown by a custom decoder as a corrupt record', async () => {
    const b = new MemoryBucket();
    b.put('a', 'x');
    const decoder: Decoder = async function* () {
      yield new Uint8Array(0);
      throw new Error('bad magic');
    };
    const client = await newBlobStream(b, { decoder })('', { toHead: true });
    await assert.rejects(
      client.recv(),
      (e) =>
        hasCode(e, ErrorCode.deserialization) &&
        /blob "a" in bucket memory, record 0: bad magic/.test(String(e)),
    );
    await client.close();
  });

  it('closes the blob and fails clearly when the decoder throws at once or returns no AsyncIterable', async () => {
    const b = new TrackingBucket();
    b.inner.put('a', '1');
    const throwing: Decoder = () => {
      throw new Error('bad header');
    };
    const notIterable = (() => ({})) as unknown as Decoder;
    const cases: [Decoder, (e: unknown) => boolean][] = [
      [
        throwing,
        (e) =>
          hasCode(e, ErrorCode.deserialization) &&
          /blob "a" in bucket tracking, record 0: bad header/.test(String(e)),
      ],
      [
        notIterable,
        (e) =>
          hasCode(e, ErrorCode.invalidArgument) &&
          /decoder must return an AsyncIterable/.test(String(e)),
      ],
    ];
    for (const [decoder, check] of cases) {
      const stream = newBlobStream(b, { decoder });
      const client = await stream('', { toHead: true });
      await assert.rejects(client.recv(), check);
      await assert.rejects(client.recv(), check, 'sticky');
      assert.equal(b.closed, b.opened, 'the blob is closed');
      await client.close();
      await assert.rejects(stream('a|01|0'), check, 'resuming inside the blob');
      assert.equal(b.closed, b.opened, 'the blob is closed');
    }
    assert.equal(b.opened, 4);
  });

  it('validates its arguments at construction', () => {
    const b = new MemoryBucket();
    const bad = (f: () => unknown): void =>
      assert.throws(f, (e) => hasCode(e, ErrorCode.invalidArgument));
    bad(() => newBlobStream({} as Bucket));
    bad(() => newBlobStream(b, { listLimit: 0 }));
    bad(() => newBlobStream(b, { backoffMs: Number.NaN }));
    bad(() => newBlobStream(b, { decoder: 'json' as unknown as Decoder }));
    bad(() => newBlobStream(b, { prefix: 1 as unknown as string }));
    bad(() => new MemoryBucket({ chunkSize: 0 }));
    bad(() => new MemoryBucket({ size: 1 } as never));
    bad(() => b.put('', 'x'));
  });

  it('MemoryBucket: put replaces, delete removes, reads copy the data given', async () => {
    const b = new MemoryBucket();
    const data = new TextEncoder().encode('1');
    b.put('a', data);
    data[0] = 0x32; // '2': the bucket kept its own copy
    b.put('b', '3');
    b.put('b', '4');
    assert.ok(b.delete('c') === false);
    const ids = async (): Promise<string[]> => {
      const c = await newBlobStream(b)('', { toHead: true });
      const out: string[] = [];
      for await (const e of c) out.push(`${e.id}=${new TextDecoder().decode(e.metadata)}`);
      return out;
    };
    assert.deepEqual(await ids(), ['a|eof=1', 'b|eof=4']);
    assert.ok(b.delete('a'));
    assert.deepEqual(await ids(), ['b|eof=4']);
  });

  it('ends at the head with toHead, and for-await stops there', async () => {
    const b = new MemoryBucket();
    b.put('a', '1 2');
    const client = await newBlobStream(b)('', { toHead: true });
    await client.recv();
    await client.recv();
    await assert.rejects(client.recv(), (e) => isHeadReachedErr(e));
    await client.close();
  });
});
