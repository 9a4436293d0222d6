import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { context, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import Database from 'better-sqlite3';
import { decodeTrace } from '../../../src/core/index.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { drain } from '../../../src/testing/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

test('insert stores the active span context in the trace column; none without a span', async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'trace.db'));
  try {
    const events = newEventsTable('events', { traceColumn: 'trace' });
    await events.createTable(db);
    const ids = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
    const ctx = trace.setSpanContext(context.active(), { ...ids, traceFlags: TraceFlags.SAMPLED });
    await context.with(ctx, () => events.insert(db, 'a', 1));
    await events.insert(db, 'b', 1);
    const got = await drain(await events.toStream(db)('', { toHead: true }));
    assert.deepEqual(decodeTrace(got[0]?.trace), ids);
    assert.equal(got[1]?.trace, undefined);
    await events.close();
  } finally {
    db.close();
    dir.cleanup();
    context.disable();
  }
});
