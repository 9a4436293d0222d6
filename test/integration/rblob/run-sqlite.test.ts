import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  ErrorCode,
  hasCode,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
} from '../../../src/core/index.js';
import { newBlobStream, newDirBucket } from '../../../src/rblob/index.js';
import { newCursorsTable } from '../../../src/rsql/index.js';
import { dirHarness } from '../../support/rblob-harness.js';
import { keyD, keyE, putFixture } from '../../support/rblob-suite.js';

describe('run over a bucket with a SQLite cursors table', () => {
  for (const asyncPeriodMs of [0, 5000]) {
    it(`resumes mid-blob after a restart (cursor store ${asyncPeriodMs === 0 ? 'sync' : 'async'})`, async () => {
      const h = await dirHarness();
      const dbDir = await mkdtemp(join(tmpdir(), 'rblob-sqlite-'));
      const dbPath = join(dbDir, 'cursors.db');
      const table = newCursorsTable('rblob_cursors', { cursorType: 'string' });
      const seen: string[] = [];
      /** One process lifetime: open the database, run to the head or a failure, close all. */
      const lifetime = async (failOn?: string): Promise<unknown> => {
        const db = new Database(dbPath);
        try {
          await table.createTable(db);
          const store = table.toStore(db, { asyncPeriodMs });
          try {
            const consumer = newConsumer('archive', (e) => {
              const record = new TextDecoder().decode(e.metadata);
              if (record === failOn) throw new Error(`cannot handle ${record}`);
              seen.push(record);
            });
            const stream = newBlobStream(newDirBucket(h.dir));
            return await run(newSpec(stream, store, consumer, { toHead: true })).catch(
              (err: unknown) => err,
            );
          } finally {
            await store.close();
          }
        } finally {
          db.close();
        }
      };
      try {
        await putFixture(h);
        const err1 = await lifetime('{"n":5}');
        assert.ok(hasCode(err1, ErrorCode.consume), String(err1));
        assert.deepEqual(seen, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
        const db = new Database(dbPath, { readonly: true });
        assert.equal(await table.getCursor(db, 'archive'), `${keyD}|01|0`);
        db.close();

        const err2 = await lifetime();
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
        const db2 = new Database(dbPath, { readonly: true });
        assert.equal(await table.getCursor(db2, 'archive'), `${keyE}|eof`);
        db2.close();

        const err3 = await lifetime();
        assert.ok(isHeadReachedErr(err3));
        assert.equal(seen.length, 7, 'nothing delivered twice after a clean stop');
      } finally {
        await h.cleanup();
        await rm(dbDir, { recursive: true, force: true });
      }
    });
  }
});
