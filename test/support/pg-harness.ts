import type { TestContext } from 'node:test';
import type pg from 'pg';
import type {
  OpenTransaction,
  SqlHarness,
  SqlHarnessFactory,
} from '../../src/rsql/testing/index.js';
import { pgPool } from './pg-pool.js';
import { postgresServer, requireServer } from './servers.js';

/** A harness factory over one shared pg pool per test file. */
export function pgHarnessFactory(): SqlHarnessFactory & { pool(): pg.Pool | undefined } {
  let pool: pg.Pool | undefined;
  return {
    pool: () => pool,
    async setup(t: TestContext): Promise<SqlHarness | undefined> {
      const url = await requireServer(t, postgresServer);
      if (url === undefined) return undefined;
      pool ??= pgPool(url);
      const p = pool;
      return {
        name: 'postgres',
        db: p,
        fillsGaps: false,
        async transaction(fn, options) {
          const c = await p.connect();
          try {
            await c.query('BEGIN');
            try {
              await fn(c);
            } catch (err) {
              await c.query('ROLLBACK');
              throw err;
            }
            await c.query(options?.rollback === true ? 'ROLLBACK' : 'COMMIT');
          } finally {
            c.release();
          }
        },
        async begin(): Promise<OpenTransaction> {
          const c = await p.connect();
          await c.query('BEGIN');
          return {
            tx: c,
            commit: async () => {
              try {
                await c.query('COMMIT');
              } finally {
                c.release();
              }
            },
            rollback: async () => {
              try {
                await c.query('ROLLBACK');
              } finally {
                c.release();
              }
            },
          };
        },
        async dropTable(name) {
          await p.query(`DROP TABLE IF EXISTS "${name.replace('.', '"."')}"`);
        },
      };
    },
    async teardown() {
      await pool?.end();
      pool = undefined;
    },
  };
}
