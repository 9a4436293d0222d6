import assert from 'node:assert/strict';
import { ErrorCode, hasCode } from '../../core/index.js';
import { bindHandle } from '../handles.js';
import { newCursorsTable, newErrorsTable, newEventsTable, RsqlErrorCode } from '../index.js';
import { type SqlHarnessFactory, type SuiteApi, uniqueTableName } from './harness.js';

/**
 * The conformance suite of a cursors table and an errors table: monotonic cursors (equal is a
 * no-op, lower an error), int and string cursors, async coalescing and flushing (a failed flush
 * keeps its cursors), and idempotent dead letters. Call it like `sqlEventsTableSuite`.
 */
/** Consumer names a case-, accent- or pad-insensitive collation would take for one. */
const lookAlikes = ['mailer', 'Mailer', 'mailer ', 'mäiler'];

export function sqlCursorsTableSuite(api: SuiteApi, factory: SqlHarnessFactory): void {
  const { describe, it, after } = api;

  describe('cursors table conformance', () => {
    after(() => factory.teardown());

    it('int cursors only increase; equal is a no-op, lower and malformed are errors', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('cur');
      const table = newCursorsTable(name);
      await table.createTable(h.db);
      await table.createTable(h.db); // idempotent
      try {
        const store = table.toStore(h.db, { asyncPeriodMs: 0 });
        assert.equal(await store.getCursor('c'), '');
        await store.setCursor('c', '1');
        await store.setCursor('c', '100');
        await store.setCursor('c', '100');
        assert.equal(await store.getCursor('c'), '100');
        await assert.rejects(store.setCursor('c', '99'), (e) =>
          hasCode(e, RsqlErrorCode.cursorNotIncreasing),
        );
        for (const bad of ['', 'abc', '-1', '1.0']) {
          await assert.rejects(store.setCursor('c', bad), (e) =>
            hasCode(e, ErrorCode.invalidCursor),
          );
        }
        assert.equal(await store.getCursor('c'), '100');
        await store.setCursor('c', '9007199254740993');
        assert.equal(await store.getCursor('c'), '9007199254740993');
        await store.close();
      } finally {
        await h.dropTable(name);
      }
    });

    it('string cursors compare byte-wise; int cursors on a text column compare numerically', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curs');
      const strings = newCursorsTable(name, { cursorType: 'string' });
      await strings.createTable(h.db);
      try {
        await strings.setCursor(h.db, 's', 'abc');
        await strings.setCursor(h.db, 's', 'abcd');
        await assert.rejects(strings.setCursor(h.db, 's', 'aaa'), (e) =>
          hasCode(e, RsqlErrorCode.cursorNotIncreasing),
        );
        assert.equal(await strings.getCursor(h.db, 's'), 'abcd');
        const ints = newCursorsTable(name, { cursorType: 'int' });
        await ints.setCursor(h.db, 'n', '8');
        await ints.setCursor(h.db, 'n', '10');
        await assert.rejects(ints.setCursor(h.db, 'n', '9'), (e) =>
          hasCode(e, RsqlErrorCode.cursorNotIncreasing),
        );
        assert.equal(await ints.getCursor(h.db, 'n'), '10');
      } finally {
        await h.dropTable(name);
      }
    });

    it('a name or string cursor with a lone surrogate is refused (it would be stored as U+FFFD)', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curu');
      const table = newCursorsTable(name, { cursorType: 'string' });
      await table.createTable(h.db);
      const errors = newErrorsTable({ table: uniqueTableName('erru') });
      await errors.createTable(h.db);
      const store = table.toStore(h.db, { asyncPeriodMs: 3_600_000 });
      try {
        const surrogate = (e: unknown): boolean =>
          hasCode(e, ErrorCode.invalidArgument) && /surrogate/.test(String(e));
        await assert.rejects(table.setCursor(h.db, 'a\uD800', 'x'), surrogate);
        await assert.rejects(table.getCursor(h.db, 'a\uDC00'), surrogate);
        await assert.rejects(table.setCursor(h.db, 'a', 'x\uD800'), surrogate);
        await assert.rejects(store.setCursor('a\uD800', 'x'), surrogate);
        await assert.rejects(store.setCursor('a', '\uDFFFx'), surrogate);
        await store.flush();
        assert.equal(await table.getCursor(h.db, 'a'), '', 'nothing written');
        const record = errors.toErrorInsertFunc(h.db);
        await assert.rejects(record('c\uD800', '1', 'boom'), surrogate);
        await assert.rejects(record('c', '1\uD800', 'boom'), surrogate);
        // A message is text for people: its lone surrogate becomes U+FFFD, the dead letter stays.
        await record('c', '1', 'bad \uD800 text');
        const reader = newEventsTable(errors.events.name, { metadataColumn: 'metadata' });
        const events = [];
        for await (const e of await reader.toStream(h.db)('', { toHead: true })) events.push(e);
        await reader.close();
        assert.equal(events.length, 1, 'only the well-formed dead letter');
      } finally {
        await store.close().catch(() => {});
        await errors.events.close();
        await h.dropTable(name);
        await h.dropTable(errors.name);
        await h.dropTable(errors.events.name);
      }
    });

    it('async mode coalesces, flushes every pending cursor, never lowers one', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('cura');
      const table = newCursorsTable(name);
      await table.createTable(h.db);
      const store = table.toStore(h.db, { asyncPeriodMs: 3_600_000 });
      try {
        for (let i = 1; i <= 50; i++) await store.setCursor('a', String(i));
        await store.setCursor('b', '7');
        // Nothing written yet; the store itself answers with what it holds.
        assert.equal(await table.getCursor(h.db, 'a'), '', 'not in the table until flushed');
        assert.equal(await store.getCursor('a'), '50', 'the store sees its pending cursor');
        await store.flush();
        assert.equal(await table.getCursor(h.db, 'a'), '50');
        assert.equal(await table.getCursor(h.db, 'b'), '7');
        await assert.rejects(store.setCursor('a', '49'), (e) =>
          hasCode(e, RsqlErrorCode.cursorNotIncreasing),
        );
        await store.setCursor('a', '50'); // equal: no-op
        // Another writer moved 'b' ahead: a flush never lowers it.
        await table.setCursor(h.db, 'b', '1000');
        await store.setCursor('b', '8');
        await store.flush();
        assert.equal(await table.getCursor(h.db, 'b'), '1000');
        assert.equal(await store.getCursor('b'), '1000', 'flushed: the table answers again');
        await store.close();
        await store.close();
      } finally {
        // Its hour-long flush timer must not outlive a failed assertion.
        await store.close().catch(() => {});
        await h.dropTable(name);
      }
    });

    it('a failed flush keeps the pending cursors for the next one', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curf');
      const table = newCursorsTable(name);
      const store = table.toStore(h.db, { asyncPeriodMs: 3_600_000 });
      try {
        await store.setCursor('x', '5');
        await store.setCursor('y', '6');
        await assert.rejects(store.flush(), (e) => hasCode(e, RsqlErrorCode.database));
        // What a run restarted on this store resumes from: the pending cursor, not the table's.
        assert.equal(await store.getCursor('x'), '5');
        await table.createTable(h.db);
        await store.flush();
        assert.equal(await store.getCursor('x'), '5');
        assert.equal(await store.getCursor('y'), '6');
        await store.close();
      } finally {
        await store.close().catch(() => {});
        await h.dropTable(name);
      }
    });

    it('the async timer flushes by itself and close flushes the rest', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curt');
      const table = newCursorsTable(name);
      await table.createTable(h.db);
      try {
        const store = table.toStore(h.db, { asyncPeriodMs: 20 });
        await store.setCursor('t', '3');
        const deadline = Date.now() + 5000;
        while ((await store.getCursor('t')) !== '3') {
          assert.ok(Date.now() < deadline, 'flushed by the timer');
          await new Promise((r) => setTimeout(r, 10));
        }
        const closing = table.toStore(h.db, { asyncPeriodMs: 3_600_000 });
        await closing.setCursor('u', '4');
        await closing.close();
        assert.equal(await store.getCursor('u'), '4');
        await store.close();
      } finally {
        await h.dropTable(name);
      }
    });

    it('async mode also flushes after asyncFlushEvents cursors, bounding re-delivery by count', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curn');
      const table = newCursorsTable(name);
      await table.createTable(h.db);
      for (const bad of [0, -1, 1.5, '3', Number.NaN]) {
        assert.throws(
          () => table.toStore(h.db, { asyncFlushEvents: bad as number }),
          (e) => hasCode(e, ErrorCode.invalidArgument) && /asyncFlushEvents/.test(String(e)),
        );
      }
      // An hour-long period: only the count can flush within the test.
      const store = table.toStore(h.db, { asyncPeriodMs: 3_600_000, asyncFlushEvents: 4 });
      try {
        for (let i = 1; i <= 3; i++) await store.setCursor('n', String(i));
        await store.setCursor('m', '9'); // the 4th cursor set, over two consumers
        const deadline = Date.now() + 5000;
        while ((await table.getCursor(h.db, 'm')) !== '9') {
          assert.ok(Date.now() < deadline, 'flushed after 4 cursors');
          await new Promise((r) => setTimeout(r, 5));
        }
        assert.equal(await table.getCursor(h.db, 'n'), '3');
        await store.setCursor('n', '4');
        assert.equal(await table.getCursor(h.db, 'n'), '3', 'one more is not a flush yet');
        await store.close();
        assert.equal(await table.getCursor(h.db, 'n'), '4');
      } finally {
        await store.close().catch(() => {});
        await h.dropTable(name);
      }
    });

    it('errors table: idempotent per (consumer, event), one error event per recorded error', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('errs');
      const errors = newErrorsTable({ table: name });
      await errors.createTable(h.db);
      await errors.createTable(h.db);
      try {
        const record = errors.toErrorInsertFunc(h.db);
        await record('consumer-a', '1', 'boom');
        await record('consumer-a', '2', 'boom');
        await record('consumer-b', '1', 'boom');
        await record('consumer-a', '1', 'another message'); // same pair: no-op
        // Refused before writing: the counts below would include it otherwise.
        await assert.rejects(record('', '1', 'x'), (e) => hasCode(e, ErrorCode.invalidArgument));
        const reader = newEventsTable(errors.events.name, { metadataColumn: 'metadata' });
        const events = [];
        for await (const e of await reader.toStream(h.db)('', { toHead: true })) events.push(e);
        await reader.close();
        assert.equal(events.length, 3);
        assert.deepEqual(
          events.map((e) => [e.type, new TextDecoder().decode(e.metadata)]),
          [
            [1, 'consumer-a'],
            [1, 'consumer-a'],
            [1, 'consumer-b'],
          ],
        );
      } finally {
        await h.dropTable(name);
        await h.dropTable(errors.events.name);
      }
    });

    it('look-alike consumer names keep their own cursors: a move of one never moves another', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curl');
      const strName = uniqueTableName('curls');
      const table = newCursorsTable(name);
      const strings = newCursorsTable(strName, { cursorType: 'string' });
      await table.createTable(h.db);
      await strings.createTable(h.db);
      try {
        const store = table.toStore(h.db, { asyncPeriodMs: 0 });
        for (const [i, n] of lookAlikes.entries()) await store.setCursor(n, String(10 * (i + 1)));
        const all = (s: { getCursor(n: string): Promise<string> }) =>
          Promise.all(lookAlikes.map((n) => s.getCursor(n)));
        assert.deepEqual(await all(store), ['10', '20', '30', '40']);
        await store.setCursor('Mailer', '25');
        // The async store writes them in one upsert statement.
        const batched = table.toStore(h.db, { asyncPeriodMs: 3_600_000 });
        await batched.setCursor('mäiler', '45');
        await batched.setCursor('mailer ', '35');
        await batched.close();
        assert.deepEqual(await all(store), ['10', '25', '35', '45']);
        // String cursors that differ only by case or a trailing space are different values.
        await strings.setCursor(h.db, 's', 'a');
        await strings.setCursor(h.db, 's', 'a ');
        assert.equal(await strings.getCursor(h.db, 's'), 'a ');
        await strings.setCursor(h.db, 'S', 'A');
        assert.equal(await strings.getCursor(h.db, 'S'), 'A');
        assert.equal(await strings.getCursor(h.db, 's'), 'a ');
        await store.close();
      } finally {
        await h.dropTable(name);
        await h.dropTable(strName);
      }
    });

    it('errors table: dead letters of look-alike consumers for one event are all kept', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('errl');
      const errors = newErrorsTable({ table: name });
      await errors.createTable(h.db);
      try {
        const record = errors.toErrorInsertFunc(h.db);
        for (const n of lookAlikes) await record(n, '7', `failed for ${n}`);
        for (const n of lookAlikes) await record(n, '7', 'again'); // idempotent per pair
        await record('mailer', '7 ', 'another event id');
        const reader = newEventsTable(errors.events.name, { metadataColumn: 'metadata' });
        const names = [];
        for await (const e of await reader.toStream(h.db)('', { toHead: true })) {
          names.push(new TextDecoder().decode(e.metadata));
        }
        await reader.close();
        assert.deepEqual(names, [...lookAlikes, 'mailer']);
        const { dialect, executor } = bindHandle(h.db);
        const q = dialect.quote;
        const rows = await executor.query(
          `SELECT ${q('consumer')}, ${q('event_id')}, ${q('error_msg')} FROM ${q(name)} ORDER BY ${q('id')}`,
        );
        assert.deepEqual(
          rows.map((r) => r.map((v) => String(v))),
          [
            ...lookAlikes.map((n) => [n, '7', `failed for ${n}`]),
            ['mailer', '7 ', 'another event id'],
          ],
        );
      } finally {
        await h.dropTable(name);
        await h.dropTable(errors.events.name);
      }
    });

    it('errors table: a 100 KB dead-letter message is stored whole', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('errb');
      const errors = newErrorsTable({ table: name, recordOnly: true });
      await errors.createTable(h.db);
      try {
        // 100,000 bytes of UTF-8 (two-byte characters first), over TEXT's 65,535.
        const message = `${'é'.repeat(25_000)}${'x'.repeat(49_999)}!`;
        await errors.toErrorInsertFunc(h.db)('c', '1', message);
        const { dialect, executor } = bindHandle(h.db);
        const rows = await executor.query(
          `SELECT ${dialect.quote('error_msg')} FROM ${dialect.quote(name)}`,
        );
        const stored = String(rows[0]?.[0]);
        assert.equal(Buffer.byteLength(stored), 100_000);
        assert.ok(stored === message, 'stored whole');
      } finally {
        await h.dropTable(name);
        await h.dropTable(errors.events.name);
      }
    });

    it('a string cursor for an integer cursors table is refused (ERR_REFLEX_INVALID_ARGUMENT), nothing written', async (t) => {
      const h = await factory.setup(t);
      if (h === undefined) return;
      const name = uniqueTableName('curi');
      const ints = newCursorsTable(name);
      await ints.createTable(h.db);
      try {
        await ints.setCursor(h.db, 'c', '5');
        const strings = newCursorsTable(name, { cursorType: 'string' });
        const invalid = (e: unknown) => hasCode(e, ErrorCode.invalidArgument);
        await assert.rejects(strings.setCursor(h.db, 'c', 'abc'), invalid);
        await assert.rejects(strings.setCursor(h.db, 'd', 'abc'), invalid);
        await assert.rejects(strings.getCursor(h.db, 'c'), invalid);
        await assert.rejects(strings.createTable(h.db), invalid);
        const store = strings.toStore(h.db, { asyncPeriodMs: 3_600_000 });
        await store.setCursor('e', 'abc'); // buffered; the flush is refused
        await assert.rejects(store.close(), invalid);
        assert.deepEqual(await Promise.all(['c', 'd', 'e'].map((n) => ints.getCursor(h.db, n))), [
          '5',
          '',
          '',
        ]);
      } finally {
        await h.dropTable(name);
      }
    });
  });
}
