// PostgreSQL through pg: one pool; each insert writer holds its own client.
import pg from 'pg';
import { pgEventsStatements } from '../../src/rsql/postgres/statements.js';
import { wallMs } from '../measure.js';
import { countingPool, type SqlDriver } from './sql.js';

export const postgresUrl =
  process.env.REFLEX_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `?` placeholders to `$1…`. */
function dollars(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

export async function postgresDriver(): Promise<SqlDriver> {
  const rawText = { getTypeParser: () => (value: string) => value };
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 12 });
  const vres = await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  const version = vres.rows[0]?.v ?? 'unknown';
  let writers: pg.PoolClient[] = [];
  return {
    name: 'postgres',
    version: `PostgreSQL ${version}`,
    db: pool,
    nowSql: 'statement_timestamp()',
    childConfig: {},
    async exec(sql, params = []) {
      await pool.query(dollars(sql), [...params]);
    },
    async openWriters(n) {
      for (const c of writers) c.release();
      writers = [];
      for (let i = 0; i < n; i++) writers.push(await pool.connect());
    },
    async tx(w, body) {
      const c = writers[w];
      if (c === undefined) throw new Error(`no client for writer ${w}`);
      await c.query('BEGIN');
      try {
        await body(c);
      } catch (err) {
        await c.query('ROLLBACK');
        throw err;
      }
      const t = wallMs();
      await c.query('COMMIT');
      return t;
    },
    async txExec(tx, sql, params) {
      await (tx as pg.PoolClient).query(dollars(sql), [...params]);
    },
    insertEvent: (table, tx, foreignId) => table.insert(tx, foreignId, 1),
    selectAfter: (schema) => pgEventsStatements(schema).selectAfter,
    async scanPage(sql, after, limit) {
      const res = await pool.query<[string, ...unknown[]]>({
        text: sql,
        values: [after, limit],
        rowMode: 'array',
        // The cheapest read of the page: values as the server's text, nothing parsed.
        types: rawText,
      });
      const last = res.rows[res.rows.length - 1]?.[0];
      return { rows: res.rows.length, last: last === undefined ? after : Number(last) };
    },
    async bulkInsert(table, n) {
      const chunk = 250_000;
      for (let done = 0; done < n; done += chunk) {
        await pool.query(
          `INSERT INTO ${table} (foreign_id, timestamp, type)
           SELECT g::text, statement_timestamp(), 1 FROM generate_series($1::bigint, $2::bigint) g`,
          [done, Math.min(n, done + chunk) - 1],
        );
      }
    },
    openReader() {
      return { db: pool, close: async () => {} };
    },
    counting() {
      return countingPool(pool, ['query'], 'connect');
    },
    async close() {
      for (const c of writers) c.release();
      writers = [];
      await pool.end();
    },
  };
}
