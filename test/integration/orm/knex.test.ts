// knex over mysql2, pg and better-sqlite3: `events.insert(trx, …)` joins knex's transaction.
import { describe, it } from 'node:test';
import knexFactory, { type Knex } from 'knex';
import {
  committedOnly,
  errorsThroughTool,
  type Kind,
  type RawDb,
  rawDb,
} from '../../support/orm.js';

function knexOn(raw: RawDb): Knex {
  if (raw.kind === 'mysql') {
    return knexFactory({ client: 'mysql2', connection: raw.url, pool: { min: 0, max: 2 } });
  }
  if (raw.kind === 'postgres') {
    return knexFactory({ client: 'pg', connection: raw.url, pool: { min: 0, max: 2 } });
  }
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename: raw.url },
    useNullAsDefault: true,
    pool: { min: 0, max: 1 },
  });
}

for (const kind of ['mysql', 'postgres', 'sqlite'] as Kind[]) {
  describe(`knex on ${kind}`, () => {
    it('streams exactly the events of committed transactions', async (t) => {
      const raw = await rawDb(t, kind);
      if (raw === undefined) return;
      const knex = knexOn(raw);
      try {
        await committedOnly<Knex.Transaction>(raw, {
          transaction: (fn) => knex.transaction(fn),
          exec: async (trx, text) => void (await trx.raw(text)),
        });
        await errorsThroughTool(raw, knex);
      } finally {
        await knex.destroy();
        await raw.close();
      }
    });
  });
}
