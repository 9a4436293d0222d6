// PostgreSQL names that createTable derives: a `$` in a name inside the DO block's dollar quote,
// and 63-character names (PostgreSQL's limit) for the id sequence and the errors table's unique
// constraint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newErrorsTable, newEventsTable } from '../../../src/rsql/index.js';
import { pgPool } from '../../support/pg-pool.js';
import { postgresServer, requireServer, uniqueName } from '../../support/servers.js';

/** A unique name of exactly `length` characters. */
function nameOf(prefix: string, length: number): string {
  const base = uniqueName(prefix);
  return `${base}${'_'.repeat(length)}`.slice(0, length);
}

test('postgres createTable: names with $reflex$ and 63-character names stream their events', async (t) => {
  const url = await requireServer(t, postgresServer);
  if (url === undefined) return;
  const pool = pgPool(url, 4);
  const base = uniqueName('pgn');
  // Two 63-character names that differ only at the end: cut to fit, their sequences and
  // constraints would have been one name.
  const long1 = `${nameOf(base, 62)}a`;
  const long2 = `${nameOf(base, 62)}b`;
  const names = [`${base}$reflex$x`, `${base}$`, long1, long2];
  const errorsName = `${nameOf(`${base}e`, 61)}_1`;
  const errorsName2 = `${nameOf(`${base}e`, 61)}_2`;
  try {
    for (const name of names) {
      const table = newEventsTable(name);
      await table.createTable(pool);
      await table.createTable(pool); // idempotent, its safety check included
      await table.insert(pool, 'f1', 1);
      const got = [];
      for await (const e of await table.toStream(pool)('', { toHead: true })) got.push(e.foreignId);
      assert.deepEqual(got, ['f1'], name);
      await table.close();
    }
    const seqs = await pool.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relkind = 'S' AND relname LIKE $1 ORDER BY relname`,
      [`${base}%`],
    );
    assert.equal(seqs.rows.length, names.length, 'one sequence per table');
    for (const name of [errorsName, errorsName2]) {
      const errors = newErrorsTable({ table: name, eventsTable: `${base}_ev_${name.slice(-1)}` });
      await errors.createTable(pool);
      await errors.createTable(pool);
      await errors.toErrorInsertFunc(pool)('c', '1', 'boom');
      await errors.events.close();
    }
  } finally {
    for (const name of [...names, errorsName, errorsName2, `${base}_ev_1`, `${base}_ev_2`]) {
      await pool.query(`DROP TABLE IF EXISTS "${name}"`);
    }
    await pool.end();
  }
});
