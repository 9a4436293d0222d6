import { leasesSuite } from '../../support/leases-suite.js';
import { mysqlServer, requireServer } from '../../support/servers.js';
import { mysqlPool } from '../../support/sql-harness.js';

leasesSuite('MariaDB', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return undefined;
  const pool = mysqlPool(url, 4);
  return {
    dialect: 'mysql',
    url,
    db: pool,
    async insert(events, count) {
      const rows = Array.from({ length: count }, (_, i) => `('f${i}', NOW(6), 1)`).join(', ');
      await pool.query(`INSERT INTO \`${events}\` (foreign_id, timestamp, type) VALUES ${rows}`);
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async rows(sql) {
      const [rows] = await pool.query({ sql, rowsAsArray: true });
      return rows as unknown[][];
    },
    quote: (name) => `\`${name}\``,
    close: () => pool.end(),
  };
});
