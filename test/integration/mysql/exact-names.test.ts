// Issue 14 on MariaDB: tables of older versions (case-, accent- and pad-insensitive names, TEXT
// messages) are refused at start and converted by createTable and `reflex migrate`; a session
// without strict mode is refused; a string cursor on an int table is refused by the CLI too.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { ErrorCode, hasCode } from '../../../src/core/index.js';
import {
  newCursorsTable,
  newErrorsTable,
  newEventsTable,
  RsqlErrorCode,
} from '../../../src/rsql/index.js';
import { reflex } from '../../support/cli.js';
import { mysqlServer, requireServer, uniqueName } from '../../support/servers.js';
import { mysqlPool } from '../../support/sql-harness.js';

const unsafe = (e: unknown) => hasCode(e, RsqlErrorCode.unsafeSchema);
const invalid = (e: unknown) => hasCode(e, ErrorCode.invalidArgument);
const lookAlikes = ['mailer', 'Mailer', 'mailer ', 'mäiler'];

/** The cursors table of an older version (and of the Go original's DDL): a _ci collation. */
function oldCursorsDdl(name: string, cursor = 'BIGINT NOT NULL'): string {
  return `CREATE TABLE \`${name}\` (id VARCHAR(255) NOT NULL, last_event_id ${cursor}, updated_at DATETIME(6) NOT NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
}

function oldErrorsDdl(name: string, names = 'VARCHAR(255)'): string {
  return `CREATE TABLE \`${name}\` (id BIGINT NOT NULL AUTO_INCREMENT, consumer ${names} NOT NULL, event_id ${names} NOT NULL, error_msg TEXT NOT NULL, created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL, error_status INT NOT NULL, PRIMARY KEY (id), UNIQUE KEY (consumer, event_id)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
}

async function columnTypes(pool: mysql.Pool, table: string): Promise<Record<string, string>> {
  const [rows] = await pool.query(
    'SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  return Object.fromEntries((rows as { c: string; t: string }[]).map((r) => [r.c, r.t]));
}

describe('mysql: exact names, strict mode', { timeout: 120_000 }, () => {
  let pool: mysql.Pool | undefined;
  const dropped: string[] = [];
  after(async () => {
    for (const t of dropped) await pool?.query(`DROP TABLE IF EXISTS \`${t}\``);
    await pool?.end();
  });
  const setup = async (t: import('node:test').TestContext) => {
    const url = await requireServer(t, mysqlServer);
    if (url === undefined) return undefined;
    pool ??= mysqlPool(url, 4);
    return { url, pool };
  };

  it('an old-collation cursors table is refused at start, nothing written, then converted by createTable', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const name = uniqueName('cur_old');
    const strName = uniqueName('cur_olds');
    dropped.push(name, strName);
    await s.pool.query(oldCursorsDdl(name));
    await s.pool.query(`INSERT INTO \`${name}\` VALUES ('mailer', 10, NOW(6))`);
    // utf8mb4_bin is no better: it pads ('a' = 'a ').
    await s.pool.query(oldCursorsDdl(strName, 'VARCHAR(255) COLLATE utf8mb4_bin NOT NULL'));
    const table = newCursorsTable(name);
    await assert.rejects(table.getCursor(s.pool, 'Mailer'), (e) => {
      assert.ok(unsafe(e), String(e));
      assert.match(
        String(e),
        /id \(varchar\).*createTable\(\).*reflex migrate <db-url> --cursors/s,
      );
      return true;
    });
    await assert.rejects(table.setCursor(s.pool, 'Mailer', '5'), unsafe);
    const store = table.toStore(s.pool, { asyncPeriodMs: 3_600_000 });
    await store.setCursor('mailer ', '7'); // buffered; the flush is refused
    await assert.rejects(store.close(), unsafe);
    const [rows] = await s.pool.query(`SELECT id, last_event_id FROM \`${name}\``);
    assert.deepEqual(rows, [{ id: 'mailer', last_event_id: 10 }], 'nothing written');

    await table.createTable(s.pool);
    assert.equal((await columnTypes(s.pool, name)).id, 'varbinary(1020)');
    assert.equal(await table.getCursor(s.pool, 'mailer'), '10', 'the rows are kept');
    assert.equal(await table.getCursor(s.pool, 'Mailer'), '');
    for (const [i, n] of lookAlikes.entries()) {
      await table.setCursor(s.pool, n, String(20 + i));
    }
    assert.deepEqual(await Promise.all(lookAlikes.map((n) => table.getCursor(s.pool, n))), [
      '20',
      '21',
      '22',
      '23',
    ]);

    const strings = newCursorsTable(strName, { cursorType: 'string' });
    await assert.rejects(strings.setCursor(s.pool, 's', 'a'), unsafe);
    await strings.createTable(s.pool);
    assert.deepEqual(await columnTypes(s.pool, strName), {
      id: 'varbinary(1020)',
      last_event_id: 'varbinary(1020)',
      updated_at: 'datetime(6)',
    });
    await strings.setCursor(s.pool, 's', 'a');
    await strings.setCursor(s.pool, 's', 'a ');
    assert.equal(await strings.getCursor(s.pool, 's'), 'a ');
  });

  it('old cursors and errors tables are converted by `reflex migrate`; look-alike dead letters are then all kept', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const cur = uniqueName('mig_cur');
    const err = uniqueName('mig_err');
    const ev = uniqueName('mig_ev');
    dropped.push(cur, err, `${err}_events`, ev);
    await s.pool.query(oldCursorsDdl(cur));
    await s.pool.query(oldErrorsDdl(err));
    const errors = newErrorsTable({ table: err });
    const record = errors.toErrorInsertFunc(s.pool);
    await assert.rejects(record('mailer', '7', 'boom'), (e) => {
      assert.ok(unsafe(e), String(e));
      assert.match(String(e), /consumer \(varchar\), event_id \(varchar\)/);
      assert.match(String(e), /reflex migrate <db-url> --errors/);
      return true;
    });
    await assert.rejects(newCursorsTable(cur).getCursor(s.pool, 'c'), unsafe);

    const r = await reflex(['migrate', s.url, '--events', ev, '--cursors', cur, '--errors', err]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await columnTypes(s.pool, cur)).id, 'varbinary(1020)');
    const types = await columnTypes(s.pool, err);
    assert.deepEqual(
      [types.consumer, types.event_id, types.error_msg],
      ['varbinary(1020)', 'varbinary(1020)', 'mediumtext'],
    );
    assert.equal((await columnTypes(s.pool, ev)).foreign_id, 'varbinary(1020)');

    for (const n of lookAlikes) await record(n, '7', `boom ${n}`);
    const [rows] = await s.pool.query(
      `SELECT CAST(consumer AS CHAR CHARACTER SET utf8mb4) AS c FROM \`${err}\` ORDER BY id`,
    );
    assert.deepEqual(
      (rows as { c: string }[]).map((x) => x.c),
      lookAlikes,
    );
    assert.equal(await newCursorsTable(cur).getCursor(s.pool, 'c'), '');
    await errors.events.close();
  });

  it('a 100 KB message for an old TEXT column is refused whole (nothing written); after createTable it is stored whole', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const err = uniqueName('err_text');
    dropped.push(err, `${err}_events`);
    // Exact names already, but the message column of an older version.
    await s.pool.query(oldErrorsDdl(err, 'VARBINARY(1020)'));
    const errors = newErrorsTable({ table: err });
    const record = errors.toErrorInsertFunc(s.pool);
    const message = `${'é'.repeat(25_000)}${'x'.repeat(50_000)}`;
    await assert.rejects(record('c', '1', message), (e) => {
      assert.ok(invalid(e), String(e));
      assert.match(String(e), /100000 bytes, more than its column error_msg holds \(65535\)/);
      return true;
    });
    await errors.createTable(s.pool);
    await record('c', '1', message);
    const [rows] = await s.pool.query(`SELECT error_msg AS m FROM \`${err}\``);
    assert.deepEqual(rows, [{ m: message }]);
    await errors.events.close();
  });

  it('a session without strict mode is refused (it would store a string cursor as 0, cut a message)', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const name = uniqueName('cur_lax');
    const err = uniqueName('err_lax');
    dropped.push(name, err, `${err}_events`);
    const table = newCursorsTable(name);
    const errors = newErrorsTable({ table: err });
    await table.createTable(s.pool);
    await errors.createTable(s.pool);
    const lax = await mysql.createConnection({ uri: s.url });
    try {
      await lax.query(`SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'`);
      await assert.rejects(table.getCursor(lax, 'c'), (e) => {
        assert.ok(unsafe(e), String(e));
        assert.match(String(e), /STRICT_TRANS_TABLES/);
        return true;
      });
      await assert.rejects(errors.toErrorInsertFunc(lax)('c', '1', 'x'), unsafe);
      // Turned on, the same connection is accepted (a refusal is not remembered).
      await lax.query(`SET SESSION sql_mode = 'STRICT_TRANS_TABLES'`);
      await table.setCursor(lax, 'c', '3');
      assert.equal(await table.getCursor(lax, 'c'), '3');
    } finally {
      await lax.end();
    }
  });

  it('`reflex cursors set … --cursor-type string` on an int cursors table fails (exit 1), nothing written', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const name = uniqueName('cur_cli');
    dropped.push(name);
    await newCursorsTable(name).createTable(s.pool);
    for (const force of [[], ['--force']]) {
      const r = await reflex([
        'cursors',
        'set',
        s.url,
        'mailer',
        'abc',
        '--cursor-type',
        'string',
        '--table',
        name,
        ...force,
      ]);
      assert.equal(r.code, 1, `${force.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /integer column/);
    }
    const [rows] = await s.pool.query(`SELECT COUNT(*) AS n FROM \`${name}\``);
    assert.deepEqual(rows, [{ n: 0 }]);
  });

  it('an events table of an older version (VARCHAR foreign ids) still streams exactly', async (t) => {
    const s = await setup(t);
    if (s === undefined) return;
    const name = uniqueName('ev_old');
    dropped.push(name);
    await s.pool.query(
      `CREATE TABLE \`${name}\` (id BIGINT NOT NULL AUTO_INCREMENT, foreign_id VARCHAR(255) NOT NULL, timestamp DATETIME(6) NOT NULL, type INT NOT NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4`,
    );
    const events = newEventsTable(name);
    try {
      for (const n of [...lookAlikes, 'ünï ✓ 😀']) await events.insert(s.pool, n, 1);
      const got: string[] = [];
      for await (const e of await events.toStream(s.pool)('', { toHead: true })) {
        got.push(e.foreignId);
      }
      assert.deepEqual(got, [...lookAlikes, 'ünï ✓ 😀']);
    } finally {
      await events.close();
    }
  });
});
