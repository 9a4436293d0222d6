// Run by bench/leases.ts: one member of a shard group (argv: a JSON LeaseMemberConfig). It prints
// `ready` once joined and runs until SIGTERM, its parent going away, or 120 s.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { runShardGroup } from '../src/rpatterns/index.js';
import {
  newCursorsTable,
  newEventsTable,
  newLeasesTable,
  type SqlDatabase,
} from '../src/rsql/index.js';

export interface LeaseMemberConfig {
  readonly dialect: 'sqlite' | 'mysql' | 'postgres';
  /** A server URL, or the SQLite file. */
  readonly url: string;
  readonly events: string;
  readonly cursors: string;
  readonly leases: string;
  readonly group: string;
  readonly shards: number;
  readonly member: string;
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
}

const c = JSON.parse(process.argv[2] ?? '{}') as LeaseMemberConfig;
let db: SqlDatabase;
let end: () => Promise<void>;
if (c.dialect === 'mysql') {
  const pool = mysql.createPool({ uri: c.url, connectionLimit: 2 });
  db = pool;
  end = () => pool.end();
} else if (c.dialect === 'postgres') {
  const pool = new pg.Pool({ connectionString: c.url, max: 2 });
  pool.on('error', () => {});
  db = pool;
  end = () => pool.end();
} else {
  const file = new Database(c.url, { timeout: 10_000 });
  db = file;
  end = async () => {
    file.close();
  };
}
const events = newEventsTable(c.events, { pollIntervalMs: 200 });
const group = newLeasesTable(c.leases).toGroup(db, {
  group: c.group,
  shards: c.shards,
  cursors: newCursorsTable(c.cursors),
  leasePeriodMs: c.leasePeriodMs,
  renewIntervalMs: c.renewIntervalMs,
  memberId: c.member,
});
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
process.once('disconnect', () => ac.abort());
const deadline = setTimeout(() => ac.abort(), 120_000);
await group.join();
process.stdout.write('ready\n');
try {
  await runShardGroup(group, { stream: events.toStream(db), fn: () => {}, signal: ac.signal });
} finally {
  clearTimeout(deadline);
  await events.close();
  await end();
  process.disconnect?.();
}
