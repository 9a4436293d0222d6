// MariaDB/MySQL through mysql2/promise: one pool; each insert writer holds its own connection.
import mysql from 'mysql2/promise';
import { mysqlEventsStatements } from '../../src/rsql/mysql/statements.js';
import { wallMs } from '../measure.js';
import { countingPool, type SqlDriver } from './sql.js';

export const mysqlUrl = process.env.REFLEX_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export async function mysqlDriver(): Promise<SqlDriver> {
  const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 12, timezone: 'Z' });
  const [vrows] = await pool.query('SELECT version() AS v');
  const version = (vrows as { v: string }[])[0]?.v ?? 'unknown';
  let writers: mysql.PoolConnection[] = [];
  return {
    name: 'mysql',
    version: `MariaDB/MySQL ${version}`,
    db: pool,
    nowSql: 'NOW(6)',
    childConfig: {},
    async exec(sql, params = []) {
      await pool.query(sql, [...params] as (string | number)[]);
    },
    async openWriters(n) {
      for (const c of writers) c.release();
      writers = [];
      for (let i = 0; i < n; i++) writers.push(await pool.getConnection());
    },
    async tx(w, body) {
      const c = writers[w];
      if (c === undefined) throw new Error(`no connection for writer ${w}`);
      await c.beginTransaction();
      try {
        await body(c);
      } catch (err) {
        await c.rollback();
        throw err;
      }
      const t = wallMs();
      await c.commit();
      return t;
    },
    async txExec(tx, sql, params) {
      await (tx as mysql.PoolConnection).query(sql, [...params] as (string | number)[]);
    },
    insertEvent: (table, tx, foreignId) => table.insert(tx, foreignId, 1),
    selectAfter: (schema) => mysqlEventsStatements(schema).selectAfter,
    async scanPage(sql, after, limit) {
      const [rows] = await pool.query(
        {
          sql,
          rowsAsArray: true,
        },
        [after, limit],
      );
      const list = rows as [number, ...unknown[]][];
      return { rows: list.length, last: list[list.length - 1]?.[0] ?? after };
    },
    async bulkInsert(table, n, log) {
      const chunk = 5000;
      for (let done = 0; done < n; done += chunk) {
        const values: string[] = [];
        for (let i = done; i < Math.min(n, done + chunk); i++) values.push(`('${i}', NOW(6), 1)`);
        await pool.query(
          `INSERT INTO ${table} (foreign_id, timestamp, type) VALUES ${values.join(',')}`,
        );
        if (done > 0 && done % 250_000 === 0) log(`mysql: seeded ${done}`);
      }
    },
    openReader() {
      return { db: pool, close: async () => {} };
    },
    counting() {
      return countingPool(pool, ['query', 'execute'], 'getConnection');
    },
    async close() {
      for (const c of writers) c.release();
      writers = [];
      await pool.end();
    },
  };
}
