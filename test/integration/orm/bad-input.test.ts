// Bad transaction handles: each refused with a ReflexError that names what was received and what
// is accepted, and nothing is written.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ErrorCode, ReflexError } from '../../../src/core/index.js';
import { newErrorsTable, newEventsTable, type SqlExecutor } from '../../../src/rsql/index.js';
import { rawDb, readToHead, uniqueName } from '../../support/orm.js';

function refused(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof ReflexError, String(err));
    assert.equal(err.code, ErrorCode.invalidArgument);
    assert.match(err.message, pattern);
    return true;
  };
}

const everyTool = /mysql2.*pg.*better-sqlite3.*Kysely.*knex.*TypeORM.*Prisma.*SqlExecutor/;

it('ORM bad input: each a clear ReflexError, nothing written', async (t) => {
  const raw = await rawDb(t, 'sqlite');
  if (raw === undefined) return;
  const name = uniqueName('orm_bad');
  const events = newEventsTable(name);
  const conn = new Database(raw.url);
  const kysely = new Kysely<Record<string, never>>({
    dialect: new SqliteDialect({ database: conn }),
  });
  try {
    await events.createTable(raw.db);
    class Transaction {
      query(): void {}
    }
    // Objects that are none of the accepted handles: what was received, and the list.
    for (const [bad, got] of [
      [{}, /got Object/],
      [new Transaction(), /got Transaction/],
      [() => {}, /got function/],
      [null, /got null/],
      [42, /got number/],
    ] as const) {
      await assert.rejects(events.insert(bad as never, 'x', 1), refused(got));
      await assert.rejects(events.insert(bad as never, 'x', 1), refused(everyTool));
    }
    // A Prisma client does not tell its database: the dialect option is needed.
    const prismaShaped = { $executeRawUnsafe: async () => 1, $queryRawUnsafe: async () => [] };
    await assert.rejects(events.insert(prismaShaped, 'x', 1), refused(/Prisma.*dialect option/));
    // The option must name a dialect, and agree with a handle that tells its own.
    assert.throws(() => newEventsTable(name, { dialect: 'oracle' as never }), refused(/dialect/));
    const pgTable = newEventsTable(name, { dialect: 'postgres' });
    await assert.rejects(pgTable.insert(kysely, 'x', 1), refused(/'postgres'.*sqlite/));
    await assert.rejects(pgTable.insert(raw.db, 'x', 1), refused(/'postgres'.*sqlite/));
    // A SqlExecutor on an unknown database.
    const executor = {
      dialect: 'oracle',
      query: async () => [],
      execute: async () => ({ affectedRows: 0 }),
    } as unknown as SqlExecutor;
    await assert.rejects(events.insert(executor, 'x', 1), refused(/SqlExecutor dialect/));
    // insertSync needs a synchronous handle; Kysely's are asynchronous.
    assert.throws(
      () => events.insertSync(kysely, 'x', 1),
      refused(/Kysely handle is asynchronous/),
    );
    // The stream side and createTable want the driver's pool, not the tool's object.
    assert.throws(() => events.toStream(kysely as never), refused(/pool your Kysely uses/));
    await assert.rejects(events.createTable(kysely as never), refused(/pool your Kysely uses/));
    assert.throws(
      () => newErrorsTable({ table: uniqueName('e') }).toErrorInsertFunc({} as never),
      refused(everyTool),
    );
    assert.deepEqual(await readToHead(events.toStream(raw.db)), []);
  } finally {
    await events.close();
    await kysely.destroy();
    await raw.exec(`DROP TABLE IF EXISTS ${name}`);
    await raw.close();
  }
});
