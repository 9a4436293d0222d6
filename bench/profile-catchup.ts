// Ad-hoc: where does run spend its time on a catch-up? (node --cpu-prof dist/bench/profile-catchup.js)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { isHeadReachedErr, newConsumer, newSpec, run } from '../src/core/index.js';
import { newCursorsTable, newEventsTable } from '../src/rsql/index.js';
import { MemCursorStore } from '../src/testing/index.js';

const n = Number(process.argv[2] ?? 300_000);
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const db = new Database(join(dir, 'p.db'));
const events = newEventsTable('ev');
const cursors = newCursorsTable('cur');
await events.createTable(db);
await cursors.createTable(db);
const ins = db.prepare("INSERT INTO ev (foreign_id, timestamp, type) VALUES (?, 0, 1)");
db.transaction(() => {
  for (let i = 0; i < n; i++) ins.run(String(i));
})();
const raw = db.prepare('SELECT id, foreign_id, timestamp, type FROM ev WHERE id > ? ORDER BY id LIMIT 1000').raw();
let t = performance.now();
let prev = 0;
let count = 0;
for (;;) {
  const rows = raw.all(prev) as unknown[][];
  if (rows.length === 0) break;
  count += rows.length;
  prev = rows[rows.length - 1]?.[0] as number;
}
const rawMs = performance.now() - t;
for (const [label, store] of [
  ['mem store', new MemCursorStore()],
  ['sql async store', cursors.toStore(db)],
] as const) {
  t = performance.now();
  let seen = 0;
  await run(newSpec(events.toStream(db), store, newConsumer(`c-${label}`, () => void seen++), { toHead: true })).catch((e: unknown) => {
    if (!isHeadReachedErr(e)) throw e;
  });
  const ms = performance.now() - t;
  console.log(`${label}: run ${Math.round((seen / ms) * 1000)}/s vs raw ${Math.round((count / rawMs) * 1000)}/s = ${(rawMs / ms).toFixed(2)}`);
}
await events.close();
db.close();
rmSync(dir, { recursive: true });
