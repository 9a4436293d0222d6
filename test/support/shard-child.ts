// Run by the leased-shards tests and bench: one member of a shard group over a SQL database.
// argv: a JSON ShardChildConfig. Every event it handles is appended at once (a synchronous write,
// so a SIGKILL loses nothing already handled) to `out` as `H <id> <shard> <member> <token>`; a
// cursor write refused by fencing as `R <shard> <token>`; each lease it starts running as
// `A <shard> <token> <ms since epoch>`. It prints `ready` once it has joined. It exits on SIGTERM
// (a clean stop), when its parent goes away (the IPC channel closes), or after `maxMs`, so no
// child outlives its test.
import { closeSync, openSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  codeOf,
  ErrorCode,
  type Logger,
  type ShardLease,
  type ShardLeaseStore,
} from '../../src/core/index.js';
import { fnv1Hash32, runShardGroup } from '../../src/rpatterns/index.js';
import {
  newCursorsTable,
  newEventsTable,
  newLeasesTable,
  type SqlDatabase,
} from '../../src/rsql/index.js';

export interface ShardChildConfig {
  readonly dialect: 'mysql' | 'postgres' | 'sqlite';
  /** A server URL, or the SQLite file. */
  readonly url: string;
  readonly events: string;
  readonly cursors: string;
  readonly leases: string;
  readonly group: string;
  readonly shards: number;
  readonly member: string;
  readonly out: string;
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
  readonly cursorFlushMs: number;
  readonly maxMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ShardChildConfig;
const fd = openSync(config.out, 'a');
const line = (s: string): void => {
  writeSync(fd, `${s}\n`);
};

let db: SqlDatabase;
let end: () => Promise<void>;
if (config.dialect === 'mysql') {
  const pool = mysql.createPool({ uri: config.url, connectionLimit: 4, timezone: 'Z' });
  db = pool;
  end = () => pool.end();
} else if (config.dialect === 'postgres') {
  const pool = new pg.Pool({ connectionString: config.url, max: 4 });
  pool.on('error', () => {});
  db = pool;
  end = () => pool.end();
} else {
  const file = new Database(config.url, { timeout: 10_000 });
  file.pragma('journal_mode = WAL');
  db = file;
  end = async () => {
    file.close();
  };
}

const events = newEventsTable(config.events, { pollIntervalMs: 20 });
const cursors = newCursorsTable(config.cursors);
const group = newLeasesTable(config.leases).toGroup(db, {
  group: config.group,
  shards: config.shards,
  cursors,
  leasePeriodMs: config.leasePeriodMs,
  renewIntervalMs: config.renewIntervalMs,
  cursorFlushMs: config.cursorFlushMs,
  memberId: config.member,
});
// The token each shard runs under, known when its fenced cursor store is made.
const tokens = new Map<number, number>();
const leases: ShardLeaseStore = {
  group: group.group,
  shards: group.shards,
  memberId: group.memberId,
  leasePeriodMs: group.leasePeriodMs,
  renewIntervalMs: group.renewIntervalMs,
  join: () => group.join(),
  renew: () => group.renew(),
  acquire: (list) => group.acquire(list),
  release: (list) => group.release(list),
  leave: () => group.leave(),
  cursorStore: (lease: ShardLease) => {
    tokens.set(lease.shard, lease.token);
    line(`A ${lease.shard} ${lease.token} ${Date.now()}`);
    return group.cursorStore(lease);
  },
};
/** Records every refused (fenced) cursor write, whoever reports it. */
const refused = (fields?: Readonly<Record<string, unknown>>): void => {
  if (codeOf(fields?.error) === ErrorCode.leaseLost) {
    line(`R ${String(fields?.shard ?? fields?.consumer)}`);
  }
};
const logger: Logger = {
  debug: (_m, f) => refused(f),
  info: (_m, f) => refused(f),
  warn: (_m, f) => refused(f),
  error: (_m, f) => refused(f),
};

const ac = new AbortController();
const stop = (): void => ac.abort();
process.once('SIGTERM', stop);
process.once('disconnect', stop);
const deadline = setTimeout(stop, config.maxMs);

await group.join();
process.stdout.write('ready\n');
try {
  await runShardGroup(leases, {
    stream: events.toStream(db),
    fn: (e) => {
      const shard = fnv1Hash32(e.id) % config.shards;
      line(`H ${e.id} ${shard} ${config.member} ${tokens.get(shard) ?? -1}`);
    },
    signal: ac.signal,
    logger,
    errorBackoffMs: 200,
    expectedErrorBackoffMs: 20,
  });
} finally {
  clearTimeout(deadline);
  await events.close();
  await end();
  closeSync(fd);
  process.disconnect?.();
}
