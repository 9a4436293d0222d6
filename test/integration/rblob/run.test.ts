import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type CursorStore,
  ErrorCode,
  hasCode,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
} from '../../../src/core/index.js';
import { newBlobStream, newDirBucket } from '../../../src/rblob/index.js';
import { MemCursorStore } from '../../../src/testing/index.js';
import { FileCursorStore } from '../../support/file-cursor-store.js';
import { dirHarness } from '../../support/rblob-harness.js';
import { keyD, keyE, putFixture } from '../../support/rblob-suite.js';

/** Runs a consumer over the bucket at `dir` up to the head, failing on record `failOn` if given. */
async function runOnce(
  dir: string,
  store: CursorStore,
  seen: string[],
  failOn?: string,
): Promise<unknown> {
  // A new bucket and stream each time, as after a process restart.
  const stream = newBlobStream(newDirBucket(dir));
  const consumer = newConsumer('archive', (e) => {
    const record = new TextDecoder().decode(e.metadata);
    if (record === failOn) throw new Error(`cannot handle ${record}`);
    seen.push(record);
  });
  return run(newSpec(stream, store, consumer, { toHead: true })).catch((err: unknown) => err);
}

describe('run over a bucket', () => {
  for (const [name, makeStore] of [
    [
      'a file-persisted cursor store',
      (dir: string) => new FileCursorStore(join(dir, '..', 'cursors.json')),
    ],
    ['MemCursorStore', () => new MemCursorStore()],
  ] as const) {
    it(`resumes mid-blob after a restart, with ${name}`, async () => {
      const h = await dirHarness();
      try {
        await putFixture(h);
        const dir = h.dir;
        const seen: string[] = [];
        const store = makeStore(dir);
        const err1 = await runOnce(dir, store, seen, '{"n":5}');
        assert.ok(hasCode(err1, ErrorCode.consume), String(err1));
        assert.match(String(err1), /cannot handle \{"n":5\}/);
        assert.equal(await store.getCursor('archive'), `${keyD}|01|0`);
        assert.deepEqual(seen, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);

        const restarted = name === 'MemCursorStore' ? store : makeStore(dir);
        const err2 = await runOnce(dir, restarted, seen);
        assert.ok(isHeadReachedErr(err2), String(err2));
        assert.deepEqual(seen, [
          '{"n":1}',
          '{"n":2}',
          '{"n":3}',
          '{"n":4}',
          '{"n":5}',
          '{"n":6}',
          '7',
        ]);
        assert.equal(await restarted.getCursor('archive'), `${keyE}|eof`);

        // Nothing new: a third run ends at once without delivering anything again.
        const err3 = await runOnce(dir, restarted, seen);
        assert.ok(isHeadReachedErr(err3));
        assert.equal(seen.length, 7);
      } finally {
        await h.cleanup();
      }
    });
  }
});
