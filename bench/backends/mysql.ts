// MariaDB/MySQL through mysql2 (a pool; each insert writer holds its own connection).
import mysql from 'mysql2/promise';
import type { BenchBackend, InsertBench } from './backend.js';

export const mysqlUrl = process.env.REFLEX_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const eventsDdl = (t: string): string =>
  `CREATE TABLE ${t} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
   foreign_id VARCHAR(255) NOT NULL, timestamp DATETIME(6) NOT NULL, type INT NOT NULL,
   metadata BLOB NULL)`;

export async function openMysql(): Promise<BenchBackend> {
  const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 10, timezone: 'Z' });
  const [vrows] = await pool.query('SELECT version() AS v');
  const version = (vrows as { v: string }[])[0]?.v ?? 'unknown';
  const suffix = `${process.pid}`;
  const table = `bench_events_${suffix}`;
  const stateTable = `bench_state_${suffix}`;
  const insertTable = `bench_insert_events_${suffix}`;

  const insert: InsertBench = (() => {
    let conns: mysql.PoolConnection[] = [];
    let seq = 0;
    const conn = (w: number): mysql.PoolConnection => {
      const c = conns[w];
      if (c === undefined) throw new Error(`no connection for writer ${w}`);
      return c;
    };
    const release = (): void => {
      for (const c of conns) c.release();
      conns = [];
    };
    return {
      async prepare(writers) {
        release();
        await pool.query(`DROP TABLE IF EXISTS ${stateTable}, ${insertTable}`);
        await pool.query(`CREATE TABLE ${stateTable} (id INT PRIMARY KEY, n BIGINT NOT NULL)`);
        await pool.query(eventsDdl(insertTable));
        for (let w = 0; w < writers; w++) {
          await pool.query(`INSERT INTO ${stateTable} (id, n) VALUES (?, 0)`, [w]);
          conns.push(await pool.getConnection());
        }
      },
      async withoutEvent(w) {
        const c = conn(w);
        await c.beginTransaction();
        await c.query(`UPDATE ${stateTable} SET n = n + 1 WHERE id = ?`, [w]);
        await c.commit();
      },
      async handWritten(w) {
        const c = conn(w);
        await c.beginTransaction();
        await c.query(`UPDATE ${stateTable} SET n = n + 1 WHERE id = ?`, [w]);
        await c.query(
          `INSERT INTO ${insertTable} (foreign_id, timestamp, type) VALUES (?, now(6), ?)`,
          [String(++seq), 1],
        );
        await c.commit();
      },
      reflex: undefined,
      async cleanup() {
        release();
        await pool.query(`DROP TABLE IF EXISTS ${stateTable}, ${insertTable}`);
      },
    };
  })();

  return {
    name: 'mysql',
    version: `MariaDB/MySQL ${version}`,
    absentReason: 'reflex-events/rsql (mysql) not merged yet',
    reflex: undefined,
    insert,
    async seed(n, log) {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.query(eventsDdl(table));
      const chunk = 5000;
      for (let done = 0; done < n; done += chunk) {
        const values: string[] = [];
        for (let i = done; i < Math.min(n, done + chunk); i++) values.push(`('${i}', now(6), 1)`);
        await pool.query(
          `INSERT INTO ${table} (foreign_id, timestamp, type) VALUES ${values.join(',')}`,
        );
        if (done > 0 && done % 250_000 === 0) log(`mysql: seeded ${done}`);
      }
    },
    async rawScan(pageSize) {
      let after = 0;
      let rows = 0;
      for (;;) {
        const [got] = await pool.query(
          `SELECT id, foreign_id, timestamp, type, metadata FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`,
          [after, pageSize],
        );
        const list = got as { id: number }[];
        const last = list[list.length - 1];
        if (last === undefined) return rows;
        rows += list.length;
        after = last.id;
      }
    },
    async close() {
      try {
        await insert.cleanup();
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
      } finally {
        await pool.end();
      }
    },
  };
}
