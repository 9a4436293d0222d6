// The writer process of bench/postgres.ts: inserts one event per transaction, every 20 ms, and
// reports each COMMIT's completion time to the parent.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { newEventsTable } from '../src/rsql/index.js';

const [url, name, n, notify] = process.argv.slice(2) as [string, string, string, string];
const client = new pg.Client({ connectionString: url });
await client.connect();
const events = newEventsTable(name, { notify: notify === 'true' });
for (let i = 0; i < Number(n); i++) {
  await client.query('BEGIN');
  await events.insert(client, `w${i}`, 1);
  await client.query('COMMIT');
  process.send?.({ fid: `w${i}`, t: performance.timeOrigin + performance.now() });
  await new Promise((r) => setTimeout(r, 20));
}
process.send?.('done');
await client.end();
await events.close();
process.disconnect?.();
