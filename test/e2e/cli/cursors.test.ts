import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { newCursorsTable, type SqlDatabase } from '../../../src/rsql/index.js';
import type { StatusSnapshot } from '../../../src/status/index.js';
import { jsonLines, reflex } from '../../support/cli.js';
import { mysqlServer, postgresServer, requireServer, uniqueName } from '../../support/servers.js';

/** A database the CLI is pointed at, with the SQL to prepare it (the rsql default layout). */
interface Backend {
  readonly name: string;
  /** The URL, or undefined when the test was skipped. */
  setup(t: TestContext): Promise<string | undefined>;
  exec(sql: string): Promise<void>;
  /** The driver handle, for reflex-events/rsql. */
  handle(): SqlDatabase;
  teardown(): Promise<void>;
  readonly insertEvent: (events: string, ageMs: number) => string;
}

const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-cursors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sqlite = (): Backend => {
  const file = join(dir, `${uniqueName('c')}.db`);
  let db: import('better-sqlite3').Database | undefined;
  return {
    name: 'SQLite',
    async setup() {
      const { default: Database } = await import('better-sqlite3');
      db = new Database(file);
      return `sqlite:${file}`;
    },
    async exec(sql) {
      db?.exec(sql);
    },
    handle: () => db as SqlDatabase,
    async teardown() {
      db?.close();
    },
    insertEvent: (e, age) =>
      `INSERT INTO ${e} (foreign_id, timestamp, type) VALUES ('u', ${Date.now() - age}, 1)`,
  };
};

const mysql = (): Backend => {
  let pool: import('mysql2/promise').Pool | undefined;
  return {
    name: 'MariaDB',
    async setup(t) {
      const url = await requireServer(t, mysqlServer);
      if (url === undefined) return undefined;
      const { createPool } = await import('mysql2/promise');
      pool = createPool({ uri: url, connectionLimit: 1 });
      return url;
    },
    async exec(sql) {
      await pool?.query(sql);
    },
    handle: () => pool as unknown as SqlDatabase,
    async teardown() {
      await pool?.end();
    },
    insertEvent: (e, age) =>
      `INSERT INTO ${e} (foreign_id, timestamp, type) VALUES ('u', NOW(6) - INTERVAL ${age * 1000} MICROSECOND, 1)`,
  };
};

const postgres = (): Backend => {
  let pool: import('pg').Pool | undefined;
  return {
    name: 'PostgreSQL',
    async setup(t) {
      const url = await requireServer(t, postgresServer);
      if (url === undefined) return undefined;
      const { default: pg } = await import('pg');
      pool = new pg.Pool({ connectionString: url, max: 1 });
      return url;
    },
    async exec(sql) {
      await pool?.query(sql);
    },
    handle: () => pool as unknown as SqlDatabase,
    async teardown() {
      await pool?.end();
    },
    insertEvent: (e, age) =>
      `INSERT INTO ${e} (foreign_id, timestamp, type) VALUES ('u', now() - interval '${age} milliseconds', 1)`,
  };
};

for (const make of [sqlite, mysql, postgres]) {
  const b = make();
  describe(`reflex cursors and lag on ${b.name}`, () => {
    const events = uniqueName('cli_events');
    const cursors = uniqueName('cli_cursors');
    let url: string | undefined;
    let skipped = 'no server';
    /** When the events were written: their ages grow from there, however slow the machine is. */
    let insertedAt = 0;
    /** Seconds since the events were written, plus a second of slack for clock granularity. */
    const elapsedS = (): number => (Date.now() - insertedAt) / 1000 + 1;

    before(async () => {
      // A suite hook cannot skip (Node 20's SuiteContext has no skip): keep the reason, which
      // names the variable to set, for the tests to skip with.
      const recorder = {
        skip: (reason: string) => {
          skipped = reason;
        },
      };
      url = await b.setup(recorder as unknown as TestContext);
      if (url === undefined) return;
      // The tables as reflex-events/rsql creates them.
      const m = await reflex([
        'migrate',
        url,
        '--events',
        events,
        '--cursors',
        cursors,
        '--no-errors',
      ]);
      assert.equal(m.code, 0, m.stderr);
      // Ten events, the oldest 60 s old, one second apart.
      insertedAt = Date.now();
      for (let i = 0; i < 10; i++) await b.exec(b.insertEvent(events, 60_000 - i * 1000));
    });
    after(async () => {
      if (url !== undefined) {
        await b.exec(`DROP TABLE IF EXISTS ${events}`);
        await b.exec(`DROP TABLE IF EXISTS ${cursors}`);
      }
      await b.teardown();
    });

    it('set, get, list, move back only with --force, reset', async (t) => {
      if (url === undefined) return t.skip(skipped);
      const tbl = ['--table', cursors];
      const ev = ['--events', events];
      let r = await reflex(['cursors', 'set', url, 'mailer', '4', ...tbl, ...ev]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /mailer: cursor \(none\) → 4/);
      r = await reflex(['cursors', 'set', url, 'audit', '10', ...tbl, ...ev]);
      assert.equal(r.code, 0, r.stderr);
      r = await reflex(['cursors', 'set', url, 'mailer', '6', ...tbl, ...ev]);
      assert.equal(r.code, 0, r.stderr);

      r = await reflex(['cursors', 'list', url, ...tbl]);
      assert.equal(r.code, 0, r.stderr);
      const rows = jsonLines(r.stdout);
      assert.deepEqual(
        rows.map((x) => [x.consumer, x.cursor]),
        [
          ['audit', '10'],
          ['mailer', '6'],
        ],
      );
      const updated = Date.parse(String(rows[0]?.updatedAt));
      assert.ok(Math.abs(Date.now() - updated) < 120_000, `updatedAt ${rows[0]?.updatedAt} is now`);

      // What the CLI writes is what an rsql cursor store reads, and the reverse.
      const table = newCursorsTable(cursors);
      assert.equal(await table.getCursor(b.handle(), 'mailer'), '6');
      await table.setCursor(b.handle(), 'mailer', '7');
      r = await reflex(['cursors', 'get', url, 'mailer', ...tbl]);
      assert.equal(jsonLines(r.stdout)[0]?.cursor, '7');
      r = await reflex(['cursors', 'set', url, 'mailer', '6', '--force', ...tbl, ...ev]);
      assert.equal(r.code, 0, r.stderr);

      r = await reflex(['cursors', 'set', url, 'mailer', '5', ...tbl, ...ev]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cursor 5 is behind the stored 6 of mailer: pass --force/);
      r = await reflex(['cursors', 'get', url, 'mailer', ...tbl]);
      assert.equal(jsonLines(r.stdout)[0]?.cursor, '6');
      r = await reflex(['cursors', 'set', url, 'mailer', '5', '--force', ...tbl, ...ev]);
      assert.equal(r.code, 0, r.stderr);
      r = await reflex(['cursors', 'get', url, 'mailer', ...tbl]);
      assert.equal(jsonLines(r.stdout)[0]?.cursor, '5');

      r = await reflex(['lag', url, '--events', events, '--cursors', cursors]);
      assert.equal(r.code, 0, r.stderr);
      const lag = Object.fromEntries(jsonLines(r.stdout).map((x) => [x.consumer, x]));
      assert.deepEqual(lag.audit, {
        consumer: 'audit',
        cursor: '10',
        head: '10',
        lagEvents: 0,
        lagSeconds: 0,
      });
      assert.equal(lag.mailer?.lagEvents, 5);
      assert.equal(lag.mailer?.head, '10');
      // Event 6 was written 55 s before the test started.
      const seconds = Number(lag.mailer?.lagSeconds);
      assert.ok(seconds >= 54 && seconds <= 55 + elapsedS(), `mailer lag ${seconds}s`);

      r = await reflex([
        'lag',
        url,
        '--events',
        events,
        '--cursors',
        cursors,
        '--consumer',
        'mailer',
      ]);
      assert.deepEqual(
        jsonLines(r.stdout).map((x) => x.consumer),
        ['mailer'],
      );
      // A consumer with no cursor (a typo) is an error naming it, not an empty table.
      r = await reflex([
        'lag',
        url,
        '--events',
        events,
        '--cursors',
        cursors,
        '--consumer',
        'mailer,mialer',
      ]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /no cursor in \S+ for mialer/);
      // Cursor values are checked before the database is touched.
      r = await reflex(['cursors', 'set', url, 'mailer', 'abc', ...tbl, ...ev]);
      assert.equal(r.code, 2, r.stderr);

      // Past the head (10): refused, and the stored cursor stays; unchecked without --events.
      r = await reflex(['cursors', 'set', url, 'mailer', '11', ...tbl, ...ev]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cursor 11 is past the head 10 of \S+: .*pass --force/);
      r = await reflex(['cursors', 'set', url, 'mailer', '11', '--table', cursors]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /pass --events <table>/);
      r = await reflex(['cursors', 'get', url, 'mailer', ...tbl]);
      assert.equal(jsonLines(r.stdout)[0]?.cursor, '5');

      // Beyond 2^53 the cursor is read as text, not rounded through a JS number; past the head
      // with --force: a warning, and written.
      r = await reflex([
        'cursors',
        'set',
        url,
        'huge',
        '9007199254740993',
        '--force',
        ...tbl,
        ...ev,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: cursor 9007199254740993 is past the head 10/);
      r = await reflex(['cursors', 'get', url, 'huge', ...tbl]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /9007199254740993/);
      r = await reflex(['cursors', 'reset', url, 'huge', ...tbl]);
      assert.equal(r.code, 0, r.stderr);

      r = await reflex(['cursors', 'reset', url, 'mailer', ...tbl]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /mailer: cursor 5 removed/);
      r = await reflex(['cursors', 'get', url, 'mailer', ...tbl]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no cursor for consumer "mailer"/);
    });

    it('reflex status: head, lag in events and seconds, moving, stalled, caught up', async (t) => {
      if (url === undefined) return t.skip(skipped);
      const table = newCursorsTable(cursors);
      await table.setCursor(b.handle(), 'st_behind', '3');
      await table.setCursor(b.handle(), 'st_head', '10');
      const status = async (stalledAfter: string): Promise<StatusSnapshot> => {
        const r = await reflex([
          'status',
          url as string,
          '--events',
          events,
          '--cursors',
          cursors,
          '--stalled-after',
          stalledAfter,
          '--json',
        ]);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as StatusSnapshot;
      };
      let s = await status('1m');
      assert.deepEqual(s.problems, []);
      assert.equal(s.streams[0]?.head, '10');
      // The head was written 51 s before the test started (the database's clock, any zone).
      const headAge = Date.now() - Date.parse(String(s.streams[0]?.headAt));
      assert.ok(
        headAge >= 50_000 && headAge <= (51 + elapsedS()) * 1000,
        `head written ${headAge} ms ago`,
      );
      const byName = (snap: StatusSnapshot, name: string) =>
        snap.consumers.find((c) => c.name === name);
      assert.equal(byName(s, 'st_head')?.state, 'caught-up');
      assert.equal(byName(s, 'st_head')?.lagSeconds, 0);
      const behind = byName(s, 'st_behind');
      assert.equal(behind?.lagEvents, 7);
      assert.ok(
        Number(behind?.lagSeconds) >= 56 && Number(behind?.lagSeconds) <= 57 + elapsedS(),
        `lag ${behind?.lagSeconds}s`,
      );
      // Its cursor was written a moment ago: moving, not stalled for the minute the event waited.
      assert.equal(behind?.state, 'moving');
      s = await status('0s');
      assert.equal(byName(s, 'st_behind')?.state, 'stalled');
      assert.ok(byName(s, 'st_behind')?.since !== null);
    });

    it('a string cursor for the int cursors table is refused (exit 1), nothing written', async (t) => {
      if (url === undefined) return t.skip(skipped);
      for (const force of [[], ['--force']]) {
        const r = await reflex([
          'cursors',
          'set',
          url,
          'stringy',
          'abc',
          '--cursor-type',
          'string',
          '--table',
          cursors,
          ...force,
        ]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /ERR_REFLEX_INVALID_ARGUMENT|integer column/);
      }
      const r = await reflex(['cursors', 'get', url, 'stringy', '--table', cursors]);
      assert.equal(r.code, 1, 'no cursor written');
    });

    it('a missing table → exit code 1, one line naming it', async (t) => {
      if (url === undefined) return t.skip(skipped);
      const r = await reflex(['cursors', 'list', url, '--table', 'no_such_table_here']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cursors table no_such_table_here/);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    });
  });
}
