import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bucket } from '../../src/rblob/index.js';
import type { BucketHarness } from './rblob-suite.js';

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A deterministic pseudo-random generator (tests must be reproducible). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const segments = ['a', 'a-b', 'a.b', 'b', 'b0', 'é', 'a~'];

/** Keys of depth 3 (no key is a folder of another), so that they fit a file system too. */
function randomKeys(n: number, rnd: () => number): string[] {
  const keys = new Set<string>();
  while (keys.size < n) {
    const pick = (): string => segments[Math.floor(rnd() * segments.length)] as string;
    keys.add(`${pick()}/${pick()}/${pick()}${rnd() < 0.5 ? '.json' : ''}`);
  }
  return [...keys];
}

async function listAll(
  bucket: Bucket,
  prefix: string,
  startAfter: string,
  limit: number,
): Promise<string[]> {
  return [...(await bucket.list({ prefix, startAfter, limit }))];
}

/** What every Bucket's `list` must answer: keys in UTF-8 byte order, prefix and start-after applied. */
export function bucketContractSuite(name: string, make: () => Promise<BucketHarness>): void {
  describe(`Bucket contract: ${name}`, () => {
    let h: BucketHarness;
    let keys: string[];
    before(async () => {
      h = await make();
      keys = randomKeys(60, prng(7)).sort(byteCompare);
      for (const k of keys)
        await h.put(k, `{"k":${JSON.stringify(k)}}`, { modified: new Date(1_600_000_000_000) });
    });
    after(() => h.cleanup());

    it('lists every key in byte order', async () => {
      assert.deepEqual(await listAll(h.bucket, '', '', 1000), keys);
    });

    it('applies prefix, startAfter and limit as a filter of the sorted keys would', async () => {
      const rnd = prng(11);
      const prefixes = ['', 'a', 'a/', 'a-', 'a-b/', 'a/a', 'é/', 'b0/a/a', 'zzz'];
      for (let i = 0; i < 40; i++) {
        const prefix = prefixes[i % prefixes.length] as string;
        const startAfter =
          i % 4 === 0
            ? ''
            : i % 4 === 1
              ? (keys[Math.floor(rnd() * keys.length)] as string)
              : `${prefix}${segments[i % segments.length]}`;
        const limit = 1 + Math.floor(rnd() * 20);
        const want = keys
          .filter((k) => k.startsWith(prefix) && byteCompare(k, startAfter) > 0)
          .slice(0, limit);
        const got = await listAll(h.bucket, prefix, startAfter, limit);
        assert.deepEqual(got, want, `prefix ${prefix} startAfter ${startAfter} limit ${limit}`);
      }
    });

    it('opens a blob with its modification time', async () => {
      const key = keys[3] as string;
      const blob = await h.bucket.open(key);
      const parts: Buffer[] = [];
      for await (const c of blob.body) parts.push(Buffer.from(c));
      blob.close();
      blob.close();
      assert.equal(Buffer.concat(parts).toString(), `{"k":${JSON.stringify(key)}}`);
      assert.equal(blob.info.key, key);
      assert.equal(blob.info.modified.getTime(), 1_600_000_000_000);
    });

    it('refuses to open a missing blob with ERR_REFLEX_BLOB_NOT_FOUND', async () => {
      await assert.rejects(h.bucket.open('no/such/key'), { code: 'ERR_REFLEX_BLOB_NOT_FOUND' });
    });

    it('honours an aborted signal', async () => {
      const signal = AbortSignal.abort();
      await assert.rejects(h.bucket.list({ prefix: '', startAfter: '', limit: 10, signal }), {
        name: 'AbortError',
      });
      await assert.rejects(h.bucket.open(keys[0] as string, { signal }), { name: 'AbortError' });
    });
  });
}
