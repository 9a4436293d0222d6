// TypeORM over mysql2, pg and better-sqlite3: `events.insert(manager, …)` inside
// `dataSource.transaction(async (manager) => …)`, and a QueryRunner's own transaction.
import 'reflect-metadata';
import { describe, it } from 'node:test';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import {
  committedOnly,
  errorsThroughTool,
  type Kind,
  type RawDb,
  rawDb,
} from '../../support/orm.js';

function dataSourceOn(raw: RawDb): DataSource {
  if (raw.kind === 'mysql') {
    return new DataSource({ type: 'mysql', url: raw.url, poolSize: 2 });
  }
  if (raw.kind === 'postgres') {
    return new DataSource({ type: 'postgres', url: raw.url, poolSize: 2 });
  }
  return new DataSource({ type: 'better-sqlite3', database: raw.url });
}

for (const kind of ['mysql', 'postgres', 'sqlite'] as Kind[]) {
  describe(`TypeORM on ${kind}`, () => {
    it('streams exactly the events of committed transactions (EntityManager, QueryRunner)', async (t) => {
      const raw = await rawDb(t, kind);
      if (raw === undefined) return;
      const ds = await dataSourceOn(raw).initialize();
      try {
        await committedOnly<EntityManager>(raw, {
          transaction: (fn) => ds.transaction(fn),
          exec: async (manager, text) => void (await manager.query(text)),
        });
        await committedOnly<QueryRunner>(raw, {
          async transaction(fn) {
            const qr = ds.createQueryRunner();
            await qr.startTransaction();
            try {
              await fn(qr);
              await qr.commitTransaction();
            } catch (err) {
              await qr.rollbackTransaction();
              throw err;
            } finally {
              await qr.release();
            }
          },
          exec: async (qr, text) => void (await qr.query(text)),
        });
        await errorsThroughTool(raw, ds);
      } finally {
        await ds.destroy();
        await raw.close();
      }
    });
  });
}
