// PostgreSQL figures for docs/postgres.md: catch-up vs a raw paged scan, head latency from a
// COMMIT in another process (NOTIFY on/off), and what NOTIFY costs the writers (1 and 8).
// Run: npm run build && node dist/bench/postgres.js [--events=100000] [--only=catchup,latency,notify]
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { isHeadReachedErr } from '../src/core/index.js';
import { newEventsTable } from '../src/rsql/index.js';

const url = process.env.REFLEX_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const arg = (name: string, def: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const count = Number(arg('events', '100000'));
const only = new Set(arg('only', 'catchup,latency,notify').split(','));
const now = (): number => performance.timeOrigin + performance.now();

const pool = new pg.Pool({ connectionString: url, max: 10 });
pool.on('error', () => {});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function catchUp(): Promise<void> {
  const name = `bench_pg_catchup_${process.pid}`;
  const events = newEventsTable(name, { metadataColumn: 'metadata' });
  await pool.query(`DROP TABLE IF EXISTS "${name}"`);
  await events.createTable(pool);
  await pool.query(
    `INSERT INTO "${name}" (foreign_id, "timestamp", type, metadata) SELECT 'f' || g, now(), 1 + g % 5, NULL FROM generate_series(1, $1) g`,
    [count],
  );
  await pool.query(`ANALYZE "${name}"`);
  const rounds = 3;
  const raw: number[] = [];
  const lib: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // The baseline: the same paged query with pg's default row objects and type parsing.
    let t = now();
    let after = 0;
    let n = 0;
    for (;;) {
      const res = await pool.query(
        `SELECT id, foreign_id, "timestamp", type, metadata, NULL AS trace FROM "${name}" WHERE id > $1 ORDER BY id LIMIT 1000`,
        [after],
      );
      if (res.rows.length === 0) break;
      n += res.rows.length;
      after = Number(res.rows[res.rows.length - 1].id);
    }
    raw.push((n / (now() - t)) * 1000);
    // The library: a fresh table instance (cold cache) streamed to the head.
    const fresh = newEventsTable(name, { metadataColumn: 'metadata' });
    t = now();
    const s = await fresh.toStream(pool)('', { toHead: true });
    let m = 0;
    try {
      for (;;) {
        await s.recv();
        m++;
      }
    } catch (err) {
      if (!isHeadReachedErr(err)) throw err;
    }
    lib.push((m / (now() - t)) * 1000);
    await fresh.close();
  }
  const best = (xs: number[]): number => Math.max(...xs);
  console.log(
    `catch-up ${count} events: library ${Math.round(best(lib)).toLocaleString('en')}/s, raw paged scan ${Math.round(best(raw)).toLocaleString('en')}/s (${Math.round((best(lib) / best(raw)) * 100)}%) [best of ${rounds}]`,
  );
  await events.close();
  await pool.query(`DROP TABLE "${name}"`);
}

async function latency(notify: boolean): Promise<void> {
  const name = `bench_pg_latency_${process.pid}`;
  const events = newEventsTable(name, { notify });
  await pool.query(`DROP TABLE IF EXISTS "${name}"`);
  await events.createTable(pool);
  const n = 200;
  const seen = new Map<string, number>();
  const stream = await events.toStream(pool)('');
  const reading = (async () => {
    try {
      for (;;) {
        const e = await stream.recv();
        seen.set(e.foreignId, now());
      }
    } catch {
      // closed
    }
  })();
  await new Promise((r) => setTimeout(r, 300)); // the LISTEN connection is up
  const child = fork(fileURLToPath(new URL('./postgres-writer.js', import.meta.url)), [
    url,
    name,
    String(n),
    String(notify),
  ]);
  const committed = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { fid: string; t: number } | 'done') => {
      if (m === 'done') resolve();
      else committed.set(m.fid, m.t);
    });
    child.on('error', reject);
  });
  const deadline = Date.now() + 5000;
  while (seen.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const lat = [...committed].map(([fid, t]) => (seen.get(fid) ?? Number.NaN) - t);
  console.log(
    `head latency from COMMIT in another process, NOTIFY ${notify ? 'on ' : 'off'} (poll 50 ms), ${n} events: p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${pct(lat, 100).toFixed(1)} ms`,
  );
  await stream.close();
  await reading;
  await events.close();
  await pool.query(`DROP TABLE "${name}"`);
}

async function writers(k: number, notify: boolean, ms: number): Promise<number> {
  const name = `bench_pg_writers_${process.pid}`;
  const events = newEventsTable(name, { notify });
  let total = 0;
  const stop = now() + ms;
  await Promise.all(
    Array.from({ length: k }, async () => {
      const c = await pool.connect();
      try {
        while (now() < stop) {
          await c.query('BEGIN');
          await events.insert(c, 'x', 1);
          await c.query('COMMIT');
          total++;
        }
      } finally {
        c.release();
      }
    }),
  );
  await events.close();
  return (total / ms) * 1000;
}

async function notifyCost(): Promise<void> {
  const name = `bench_pg_writers_${process.pid}`;
  await pool.query(`DROP TABLE IF EXISTS "${name}"`);
  await newEventsTable(name).createTable(pool);
  // A listener as a real deployment would have (NOTIFY queues cost more when someone LISTENs).
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  await listener.query(`LISTEN "reflex_${name}"`);
  for (const k of [1, 8]) {
    const off: number[] = [];
    const on: number[] = [];
    for (let r = 0; r < 3; r++) {
      off.push(await writers(k, false, 2000));
      on.push(await writers(k, true, 2000));
    }
    const med = (xs: number[]): number => pct(xs, 50);
    console.log(
      `writers ${k}: NOTIFY off ${Math.round(med(off))} tx/s, on ${Math.round(med(on))} tx/s (${Math.round((1 - med(on) / med(off)) * 100)}% fewer) [median of 3 × 2 s, one event per transaction]`,
    );
  }
  await listener.end();
  await pool.query(`DROP TABLE "${name}"`);
}

try {
  if (only.has('catchup')) await catchUp();
  if (only.has('latency')) {
    await latency(true);
    await latency(false);
  }
  if (only.has('notify')) await notifyCost();
} finally {
  await pool.end();
}
