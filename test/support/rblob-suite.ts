import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import {
  ErrorCode,
  type Event,
  hasCode,
  isExpected,
  isHeadReachedErr,
  type StreamCallOptions,
  type StreamClient,
  type StreamFunc,
} from '../../src/core/index.js';
import {
  type BlobStreamOptions,
  type Bucket,
  type Decoder,
  ndjsonDecoder,
  newBlobStream,
  RblobErrorCode,
} from '../../src/rblob/index.js';
import { ManualClock } from './manual-clock.js';

/** A bucket under test and a way to write blobs into it. */
export interface BucketHarness {
  readonly bucket: Bucket;
  put(
    key: string,
    data: string | Uint8Array,
    options?: { modified?: Date; contentType?: string; contentEncoding?: string },
  ): Promise<void>;
  /** Whether the bucket reports content type and encoding. */
  readonly meta: boolean;
  cleanup(): Promise<void>;
}

export const keyA = '2019/12/31/23/a.json';
export const keyB = '2020/01/01/00/b.json';
export const keyC = '2020/01/01/00/c.json';
export const keyD = '2020/01/02/10/d.json';
export const keyF = '2020/01/15/00/f.json';
export const keyE = '2020/02/01/00/e.json';

/** Modification time of fixture blob `i` (whole seconds: S3 reports seconds). */
export function modifiedAt(i: number): Date {
  return new Date(Date.UTC(2020, 0, 1, 0, 0, i * 10));
}

/** Writes the fixture: 7 records in 6 blobs over nested year/month/day/hour keys, 2 of them empty. */
export async function putFixture(h: BucketHarness): Promise<void> {
  await h.put(keyA, '{"n":1}{"n":2}', { modified: modifiedAt(1) });
  await h.put(keyB, '', { modified: modifiedAt(2) });
  await h.put(keyC, '{"n":3}', { modified: modifiedAt(3) });
  await h.put(keyD, '{"n":4} {"n":5}\n{"n":6}\n', { modified: modifiedAt(4) });
  await h.put(keyF, '\n  \n', { modified: modifiedAt(5) });
  await h.put(keyE, '7', { modified: modifiedAt(6) });
}

const text = new TextDecoder();

function meta(e: Event): string {
  return text.decode(e.metadata);
}

/** Every event after `after` up to the head. */
export async function drain(
  stream: StreamFunc,
  after = '',
  options: StreamCallOptions = {},
): Promise<Event[]> {
  const client = await stream(after, { ...options, toHead: true });
  const out: Event[] = [];
  for await (const e of client) out.push(e);
  return out;
}

async function records(
  stream: StreamFunc,
  after = '',
  options: StreamCallOptions = {},
): Promise<string[]> {
  return (await drain(stream, after, options)).map(meta);
}

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(hasCode(err, code), `expected ${code}, got ${String(err)}`);
    if (re !== undefined) assert.match(String((err as Error).message), re);
    return true;
  });
}

/** The rblob behaviours every bucket must show; `make` gives an empty bucket per test. */
export function blobStreamSuite(name: string, make: () => Promise<BucketHarness>): void {
  describe(`rblob stream over a ${name} bucket`, () => {
    let h: BucketHarness;
    let open: (options?: BlobStreamOptions) => StreamFunc;
    const harnesses: BucketHarness[] = [];
    const fresh = async (): Promise<BucketHarness> => {
      const x = await make();
      harnesses.push(x);
      return x;
    };

    before(async () => {
      h = await fresh();
      await putFixture(h);
      open = (options = {}) => newBlobStream(h.bucket, options);
    });
    after(async () => {
      for (const x of harnesses) await x.cleanup();
    });

    it('streams all 7 records over nested keys, skipping empty blobs, with eof on each last record', async () => {
      const events = await drain(open());
      assert.deepEqual(
        events.map((e) => e.id),
        [
          `${keyA}|01|0`,
          `${keyA}|eof`,
          `${keyC}|eof`,
          `${keyD}|01|0`,
          `${keyD}|01|1`,
          `${keyD}|eof`,
          `${keyE}|eof`,
        ],
      );
      assert.deepEqual(events.map(meta), [
        '{"n":1}',
        '{"n":2}',
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
        '7',
      ]);
      const ids = events.map((e) => e.id);
      assert.deepEqual([...ids].sort(), ids, 'cursors sort in stream order');
      for (const e of events) {
        assert.equal(e.type, 0);
        assert.equal(e.foreignId, '');
      }
      assert.deepEqual(
        events.map((e) => e.timestamp.getTime()),
        [1, 1, 3, 4, 4, 4, 6].map((i) => modifiedAt(i).getTime()),
      );
    });

    it('streams a sub-prefix, with or without a trailing slash', async () => {
      assert.deepEqual(await records(open({ prefix: '2020/01/' })), [
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
      ]);
      assert.deepEqual(await records(open({ prefix: '2020/01' })), [
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
      ]);
      assert.deepEqual(await records(open({ prefix: '2019/' })), ['{"n":1}', '{"n":2}']);
      assert.deepEqual(await records(open({ prefix: '2021/' })), []);
    });

    it('makes cursors relative to the prefix, as the original did', async () => {
      const events = await drain(open({ prefix: '2020/01/' }));
      assert.deepEqual(
        events.map((e) => e.id),
        ['01/00/c.json|eof', '02/10/d.json|01|0', '02/10/d.json|01|1', '02/10/d.json|eof'],
      );
      assert.deepEqual(await records(open({ prefix: '2020/01/' }), '02/10/d.json|01|0'), [
        '{"n":5}',
        '{"n":6}',
      ]);
      assert.deepEqual(
        (await drain(open({ prefix: '2020/01/01/00/c' }))).map((e) => e.id),
        ['.json|eof'],
      );
      await assert.rejects(
        open({ prefix: '2020/01/' })('02/10/missing.json|01|0'),
        /"2020\/01\/02\/10\/missing\.json"/,
      );
    });

    it('filters by a file-name prefix (not ending in a slash)', async () => {
      assert.deepEqual(await records(open({ prefix: '2020/01/01/00/c' })), ['{"n":3}']);
      assert.deepEqual(await records(open({ prefix: '2020/01/0' })), [
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
      ]);
    });

    it('starts after key|eof with the next blob', async () => {
      assert.deepEqual(await records(open(), `${keyA}|eof`), [
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
        '7',
      ]);
      assert.deepEqual(await records(open(), `${keyE}|eof`), []);
    });

    it('resumes inside a blob after key|NN|offset, and after the legacy key|offset', async () => {
      assert.deepEqual(await records(open(), `${keyA}|01|0`), [
        '{"n":2}',
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
        '7',
      ]);
      const fromD = await drain(open(), `${keyD}|01|0`);
      assert.deepEqual(
        fromD.map((e) => e.id),
        [`${keyD}|01|1`, `${keyD}|eof`, `${keyE}|eof`],
      );
      assert.deepEqual(await records(open(), `${keyD}|1`), ['{"n":6}', '7']);
    });

    it('takes any prefix|eof as a synthetic start point', async () => {
      assert.deepEqual(await records(open(), '2020|eof'), [
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
        '7',
      ]);
      assert.deepEqual(await records(open(), '2020/01/15|eof'), ['7']);
      assert.deepEqual(await records(open(), '2021|eof'), []);
      // Under a prefix, the key of a cursor is relative to it.
      assert.deepEqual(await records(open({ prefix: '2020/' }), '01|eof'), [
        '{"n":3}',
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
        '7',
      ]);
      assert.deepEqual(await records(open({ prefix: '2020/' }), '01/02|eof'), [
        '{"n":4}',
        '{"n":5}',
        '{"n":6}',
        '7',
      ]);
    });

    it('refuses a cursor past the end of its blob, and a cursor on a missing blob', async () => {
      await rejectsWith(open()(`${keyD}|01|2`), ErrorCode.invalidCursor, /out of range/);
      await rejectsWith(open()(`${keyD}|01|7`), ErrorCode.invalidCursor, /has only 3 record/);
      await rejectsWith(open()(`${keyB}|01|0`), ErrorCode.invalidCursor, /out of range/);
      await rejectsWith(
        open()('2020/09/missing.json|01|0'),
        RblobErrorCode.notFound,
        /missing\.json/,
      );
      await rejectsWith(open()('no-separator'), ErrorCode.invalidCursor);
      await rejectsWith(open()(`${keyD}|x`), ErrorCode.invalidCursor);
    });

    it('refuses unknown options and fromHead with a cursor', async () => {
      assert.throws(
        () => newBlobStream(h.bucket, { bogus: 1 } as BlobStreamOptions),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      assert.throws(
        () => newBlobStream(h.bucket, { backoffMs: -1 }),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      await rejectsWith(
        open()('', { bogus: true } as StreamCallOptions),
        ErrorCode.invalidArgument,
        /bogus/,
      );
      await rejectsWith(
        open()(`${keyA}|eof`, { fromHead: true }),
        ErrorCode.invalidArgument,
        /fromHead/,
      );
    });

    it('ends an empty bucket at once with toHead', async () => {
      const empty = await fresh();
      const client = await newBlobStream(empty.bucket)('', { toHead: true });
      await assert.rejects(client.recv(), (e) => isHeadReachedErr(e));
      await assert.rejects(client.recv(), (e) => isHeadReachedErr(e), 'sticky');
      await client.close();
    });

    it('picks up a blob written later, after the back-off', async () => {
      const x = await fresh();
      await x.put('2026/11/28/13/a.json', '{"a":1}', { modified: modifiedAt(1) });
      const clock = new ManualClock();
      const client = await newBlobStream(x.bucket, { clock, backoffMs: 60_000 })('');
      try {
        assert.equal(meta(await client.recv()), '{"a":1}');
        const pending = client.recv();
        assert.equal(await clock.nextSleep(), 60_000);
        await x.put('2026/11/28/14/b.json', '{"b":2}{"b":3}', { modified: modifiedAt(2) });
        clock.release();
        const e = await pending;
        assert.equal(e.id, '2026/11/28/14/b.json|01|0');
        assert.equal(meta(e), '{"b":2}');
        assert.equal((await client.recv()).id, '2026/11/28/14/b.json|eof');
        assert.deepEqual(clock.sleeps, [60_000]);
      } finally {
        await client.close();
      }
    });

    it('ends the back-off when the signal aborts, with the abort reason', async () => {
      const clock = new ManualClock();
      const ac = new AbortController();
      const client = await open({ clock })(`${keyE}|eof`, { signal: ac.signal });
      const pending = client.recv();
      await clock.nextSleep();
      ac.abort();
      await assert.rejects(pending, (e) => isExpected(e) && (e as Error).name === 'AbortError');
      assert.equal(clock.pending, 0, 'no sleep left behind');
      await client.close();
    });

    it('ends the back-off at a deadline with a TimeoutError', async (t) => {
      const clock = new ManualClock();
      // AbortSignal.timeout's timer does not keep the process alive (and the clock has none):
      // a ref'd timer aborts with the same TimeoutError.
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new DOMException('deadline', 'TimeoutError')), 20);
      t.after(() => clearTimeout(timer));
      const client = await open({ clock })(`${keyE}|eof`, { signal: ac.signal });
      await assert.rejects(
        client.recv(),
        (e) => isExpected(e) && (e as Error).name === 'TimeoutError',
      );
      assert.equal(clock.pending, 0);
      await client.close();
    });

    it('ends the back-off on close; close is idempotent; recv after close errors', async () => {
      const clock = new ManualClock();
      const client = await open({ clock })(`${keyE}|eof`);
      const pending = client.recv();
      await clock.nextSleep();
      await client.close();
      await rejectsWith(pending, ErrorCode.closed);
      assert.equal(clock.pending, 0);
      await client.close();
      await rejectsWith(client.recv(), ErrorCode.closed);
    });

    it('close mid-blob releases the blob; recv then errors', async () => {
      const client = await open()('');
      await client.recv();
      await client.close();
      await client.close();
      await rejectsWith(client.recv(), ErrorCode.closed);
    });

    it('starts after the newest blob with fromHead, resolved when the stream opens', async () => {
      const x = await fresh();
      await x.put('2026/11/28/13/a.json', '{"a":1}', { modified: modifiedAt(1) });
      await x.put('2026/11/28/13/b.json', '{"b":1}', { modified: modifiedAt(1) });
      const clock = new ManualClock();
      const client = await newBlobStream(x.bucket, { clock, listLimit: 1 })('', { fromHead: true });
      try {
        await x.put('2026/11/28/14/c.json', '{"c":1}', { modified: modifiedAt(2) });
        assert.equal((await client.recv()).id, '2026/11/28/14/c.json|eof');
      } finally {
        await client.close();
      }
      const head = await newBlobStream(x.bucket)('', { fromHead: true, toHead: true });
      await assert.rejects(head.recv(), (e) => isHeadReachedErr(e));
      await head.close();
    });

    it('holds each event until it is lag old', async () => {
      const clock = new ManualClock(modifiedAt(6).getTime() + 1000);
      const client = await open({ clock })(`${keyD}|eof`, { lag: 5000 });
      try {
        const pending = client.recv();
        assert.equal(await clock.nextSleep(), 4000);
        clock.release();
        assert.equal(meta(await pending), '7');
      } finally {
        await client.close();
      }
    });

    it('names the blob and the offset of a corrupt record, after delivering the records before it', async () => {
      const x = await fresh();
      await x.put('2020/03/bad.json', '{"n":1}\n{"n":2,}\n{"n":3}', { modified: modifiedAt(1) });
      const client = await newBlobStream(x.bucket)('', { toHead: true });
      const first = await client.recv();
      assert.equal(first.id, '2020/03/bad.json|01|0');
      const check = (e: unknown): boolean => {
        assert.ok(hasCode(e, ErrorCode.deserialization), String(e));
        assert.match(String((e as Error).message), /blob "2020\/03\/bad\.json"/);
        assert.match(String((e as Error).message), /record 1\b/);
        assert.match(String((e as Error).message), /byte 8\b/);
        return true;
      };
      await assert.rejects(client.recv(), check);
      await assert.rejects(client.recv(), check, 'sticky');
      await client.close();
      // Resuming after the good record meets the same error.
      await assert.rejects(newBlobStream(x.bucket)(first.id), check);
      // A truncated last value.
      await x.put('2020/04/cut.json', '{"n":1}{"n":', { modified: modifiedAt(2) });
      await assert.rejects(
        drain(newBlobStream(x.bucket), '2020/03/bad.json|eof'),
        /cut\.json".*record 1.*truncated/s,
      );
    });

    it('gunzips .gz blobs transparently', async () => {
      const x = await fresh();
      const gz = Buffer.concat([gzipSync('{"z":1}\n{"z":2}'), gzipSync('{"z":3}')]);
      await x.put('2020/05/01/firehose-1.gz', gz, { modified: modifiedAt(1) });
      await x.put('2020/05/02/plain.json', '{"z":4}', { modified: modifiedAt(2) });
      assert.deepEqual(await records(newBlobStream(x.bucket)), [
        '{"z":1}',
        '{"z":2}',
        '{"z":3}',
        '{"z":4}',
      ]);
      await x.put('2020/06/not-gzip.gz', '{"z":5}', { modified: modifiedAt(3) });
      await assert.rejects(
        drain(newBlobStream(x.bucket), '2020/05/02/plain.json|eof'),
        (e) => hasCode(e, ErrorCode.deserialization) && /not-gzip\.gz/.test(String(e)),
      );
    });

    it('skips a zero-byte .gz blob as it skips an empty plain one', async () => {
      const x = await fresh();
      await x.put('2020/05/01/empty.gz', '', { modified: modifiedAt(1) });
      await x.put('2020/05/02/empty.json', '', { modified: modifiedAt(2) });
      await x.put('2020/05/03/after.gz', gzipSync('{"z":1}'), { modified: modifiedAt(3) });
      const events = await drain(newBlobStream(x.bucket));
      assert.deepEqual(
        events.map((e) => e.id),
        ['2020/05/03/after.gz|eof'],
      );
      assert.deepEqual(events.map(meta), ['{"z":1}']);
      // An empty gzip member is still a valid (empty) blob; a cut one is still corrupt.
      await x.put('2020/05/04/member.gz', gzipSync(''), { modified: modifiedAt(4) });
      await x.put('2020/05/05/cut.gz', gzipSync('{"z":2}').subarray(0, 5), {
        modified: modifiedAt(5),
      });
      await assert.rejects(
        drain(newBlobStream(x.bucket), '2020/05/03/after.gz|eof'),
        (e) => hasCode(e, ErrorCode.deserialization) && /cut\.gz/.test(String(e)),
      );
    });

    it('gunzips blobs whose content encoding or type says gzip', async (t) => {
      if (!h.meta) {
        t.skip('this bucket keeps no content type or encoding');
        return;
      }
      const x = await fresh();
      await x.put('2020/05/a.json', gzipSync('{"e":1}'), {
        contentEncoding: 'gzip',
        modified: modifiedAt(1),
      });
      await x.put('2020/05/b.json', gzipSync('{"t":1}'), {
        contentType: 'application/gzip',
        modified: modifiedAt(2),
      });
      assert.deepEqual(await records(newBlobStream(x.bucket)), ['{"e":1}', '{"t":1}']);
    });

    it('decodes newline-delimited JSON and custom formats', async () => {
      const x = await fresh();
      await x.put('a.ndjson', '{"l":1}\r\n\n[1, 2]\n"s"\n', { modified: modifiedAt(1) });
      assert.deepEqual(await records(newBlobStream(x.bucket, { decoder: ndjsonDecoder })), [
        '{"l":1}',
        '[1, 2]',
        '"s"',
      ]);
      const csvLines: Decoder = async function* (body) {
        let rest = '';
        for await (const chunk of body) {
          rest += Buffer.from(chunk).toString();
          const parts = rest.split('\n');
          rest = parts.pop() ?? '';
          for (const p of parts) yield Buffer.from(p);
        }
        if (rest !== '') yield Buffer.from(rest);
      };
      await x.put('b.csv', 'x,1\n\ny,2', { modified: modifiedAt(2) });
      const events = await drain(newBlobStream(x.bucket, { decoder: csvLines, prefix: 'b' }));
      assert.deepEqual(events.map(meta), ['x,1', 'y,2']);
      assert.deepEqual(
        events.map((e) => e.id),
        ['.csv|01|0', '.csv|eof'],
      );
    });

    it('streams a blob of many records read in small chunks', async () => {
      const x = await fresh();
      const n = 3000;
      const body = Array.from({ length: n }, (_, i) =>
        JSON.stringify({ i, s: 'x'.repeat(i % 50) }),
      ).join('');
      await x.put('big.json', body, { modified: modifiedAt(1) });
      const events = await drain(newBlobStream(x.bucket));
      assert.equal(events.length, n);
      assert.equal(events[1234]?.id, 'big.json|04|1234');
      assert.deepEqual(JSON.parse(meta(events[1234] as Event)), {
        i: 1234,
        s: 'x'.repeat(1234 % 50),
      });
      assert.equal(events.at(-1)?.id, 'big.json|eof');
    });

    it('counts blobs opened in reflex_rblob_read_total{bucket}', async () => {
      const registry = new Registry();
      await drain(open({ registry, label: 'archive' }));
      const text = await registry.metrics();
      assert.match(text, /reflex_rblob_read_total\{bucket="archive"\} 6\b/);
      assert.match(text, /reflex_rblob_list_skip_total\{bucket="archive"\} 0\b/);
    });

    it('supports many concurrent streams on one bucket', async () => {
      const stream = open();
      const all = await Promise.all(Array.from({ length: 5 }, () => records(stream)));
      for (const r of all) assert.equal(r.length, 7);
    });

    it('a for-await break closes the stream', async () => {
      const client: StreamClient = await open()('');
      for await (const _ of client) break;
      await rejectsWith(client.recv(), ErrorCode.closed);
    });
  });
}
