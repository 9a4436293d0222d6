import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { newCursorsTable, newErrorsTable, newEventsTable } from '../../../src/rsql/index.js';
import { drain } from '../../../src/testing/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  )?.value;
}

test('metrics carry the original names with a table label', async () => {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'metrics.db'));
  const registry = new Registry();
  try {
    const events = newEventsTable('events', { registry });
    await events.createTable(db);
    for (let i = 0; i < 5; i++) events.insertSync(db, `f${i}`, 1);
    const stream = events.toStream(db);
    await drain(await stream('', { toHead: true }));
    await drain(await stream('2', { toHead: true }));
    const table = { table: 'events' };
    assert.ok(((await value(registry, 'reflex_events_table_poll_total', table)) ?? 0) >= 2);
    assert.ok(((await value(registry, 'reflex_events_table_rcache_hits_total', table)) ?? 0) >= 1);
    assert.ok(
      ((await value(registry, 'reflex_events_table_rcache_misses_total', table)) ?? 0) >= 1,
    );
    assert.equal(await value(registry, 'reflex_events_table_events_deserialized_total', table), 5);
    assert.equal(await value(registry, 'reflex_events_table_blocking_gap', table), 0);
    assert.equal(await value(registry, 'reflex_events_table_blocking_gap_age_seconds', table), 0);
    assert.equal(await value(registry, 'reflex_events_table_gap_listening', table), 1);
    await events.close();

    const cursors = newCursorsTable('cursors', { registry });
    await cursors.createTable(db);
    const store = cursors.toStore(db, { asyncPeriodMs: 3_600_000 });
    await store.setCursor('a', '1');
    await store.setCursor('a', '2');
    await store.setCursor('b', '1');
    await store.close();
    assert.equal(await value(registry, 'reflex_cursors_table_set_total', { table: 'cursors' }), 2);

    const errors = newErrorsTable({ registry });
    await errors.createTable(db);
    const record = errors.toErrorInsertFunc(db);
    await record('billing', '7', 'boom');
    await record('billing', '7', 'boom');
    assert.equal(
      await value(registry, 'reflex_consumer_dead_lettered_events_count', {
        consumer_name: 'billing',
      }),
      1,
    );
  } finally {
    db.close();
    dir.cleanup();
  }
});
