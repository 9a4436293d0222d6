// PostgreSQL through pg (a pool; each insert writer holds its own client).
import pg from 'pg';
import type { BenchBackend, InsertBench } from './backend.js';

export const postgresUrl =
  process.env.REFLEX_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const eventsDdl = (t: string): string =>
  `CREATE TABLE ${t} (id BIGSERIAL PRIMARY KEY, foreign_id TEXT NOT NULL,
   timestamp TIMESTAMPTZ NOT NULL DEFAULT now(), type INT NOT NULL, metadata BYTEA)`;

export async function openPostgres(): Promise<BenchBackend> {
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
  const vres = await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  const version = vres.rows[0]?.v ?? 'unknown';
  const suffix = `${process.pid}`;
  const table = `bench_events_${suffix}`;
  const stateTable = `bench_state_${suffix}`;
  const insertTable = `bench_insert_events_${suffix}`;

  const insert: InsertBench = (() => {
    let clients: pg.PoolClient[] = [];
    let seq = 0;
    const client = (w: number): pg.PoolClient => {
      const c = clients[w];
      if (c === undefined) throw new Error(`no client for writer ${w}`);
      return c;
    };
    const release = (): void => {
      for (const c of clients) c.release();
      clients = [];
    };
    return {
      async prepare(writers) {
        release();
        await pool.query(`DROP TABLE IF EXISTS ${stateTable}, ${insertTable}`);
        await pool.query(`CREATE TABLE ${stateTable} (id INT PRIMARY KEY, n BIGINT NOT NULL)`);
        await pool.query(eventsDdl(insertTable));
        for (let w = 0; w < writers; w++) {
          await pool.query(`INSERT INTO ${stateTable} (id, n) VALUES ($1, 0)`, [w]);
          clients.push(await pool.connect());
        }
      },
      async withoutEvent(w) {
        const c = client(w);
        await c.query('BEGIN');
        await c.query(`UPDATE ${stateTable} SET n = n + 1 WHERE id = $1`, [w]);
        await c.query('COMMIT');
      },
      async handWritten(w) {
        const c = client(w);
        await c.query('BEGIN');
        await c.query(`UPDATE ${stateTable} SET n = n + 1 WHERE id = $1`, [w]);
        await c.query(`INSERT INTO ${insertTable} (foreign_id, type) VALUES ($1, $2)`, [
          String(++seq),
          1,
        ]);
        await c.query('COMMIT');
      },
      reflex: undefined,
      async cleanup() {
        release();
        await pool.query(`DROP TABLE IF EXISTS ${stateTable}, ${insertTable}`);
      },
    };
  })();

  return {
    name: 'postgres',
    version: `PostgreSQL ${version}`,
    absentReason: 'reflex-events/rsql (postgres) not merged yet',
    reflex: undefined,
    insert,
    async seed(n) {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.query(eventsDdl(table));
      const chunk = 250_000;
      for (let done = 0; done < n; done += chunk) {
        await pool.query(
          `INSERT INTO ${table} (foreign_id, type)
           SELECT g::text, 1 FROM generate_series($1::bigint, $2::bigint) g`,
          [done, Math.min(n, done + chunk) - 1],
        );
      }
    },
    async rawScan(pageSize) {
      let after = '0';
      let rows = 0;
      for (;;) {
        const got = await pool.query<{ id: string }>(
          `SELECT id, foreign_id, timestamp, type, metadata FROM ${table} WHERE id > $1 ORDER BY id LIMIT $2`,
          [after, pageSize],
        );
        const last = got.rows[got.rows.length - 1];
        if (last === undefined) return rows;
        rows += got.rows.length;
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
