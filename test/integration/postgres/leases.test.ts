import { leasesSuite } from '../../support/leases-suite.js';
import { pgPool } from '../../support/pg-pool.js';
import { postgresServer, requireServer } from '../../support/servers.js';

leasesSuite('PostgreSQL', async (t) => {
  const url = await requireServer(t, postgresServer);
  if (url === undefined) return undefined;
  const pool = pgPool(url, 4);
  return {
    dialect: 'postgres',
    url,
    db: pool,
    async insert(events, count) {
      const rows = Array.from(
        { length: count },
        (_, i) => `('f${i}', statement_timestamp(), 1)`,
      ).join(', ');
      await pool.query(`INSERT INTO "${events}" (foreign_id, timestamp, type) VALUES ${rows}`);
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async rows(sql) {
      return (await pool.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
    },
    quote: (name) => `"${name}"`,
    close: () => pool.end(),
  };
});
