// The scale-out rows: how long the shards of a member killed with SIGKILL take to be taken over
// by the surviving member, against the lease period (target ≤ 2×). Members are real processes
// (bench/lease-member.ts) on the backend's database; 8 shards, 2 members.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  newCursorsTable,
  newEventsTable,
  newLeasesTable,
  type SqlDatabase,
} from '../src/rsql/index.js';
import { mysqlUrl } from './backends/mysql.js';
import { postgresUrl } from './backends/postgres.js';
import type { LeaseMemberConfig } from './lease-member.js';
import { percentile } from './measure.js';
import { makeRow, type Row, type Target } from './report.js';

const memberScript = fileURLToPath(new URL('./lease-member.js', import.meta.url));
const leasePeriodMs = 1000;
const renewIntervalMs = 250;
const shards = 8;
const withinTwoPeriods: Target = { text: '≤ 2× lease period', on: 'ratio', op: '<=', limit: 2 };

interface Db {
  readonly db: SqlDatabase;
  readonly url: string;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

async function openDb(name: 'sqlite' | 'mysql' | 'postgres'): Promise<Db> {
  if (name === 'mysql') {
    const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 2 });
    await pool.query('SELECT 1');
    return {
      db: pool,
      url: mysqlUrl,
      exec: async (sql) => void (await pool.query(sql)),
      close: () => pool.end(),
    };
  }
  if (name === 'postgres') {
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 2 });
    pool.on('error', () => {});
    await pool.query('SELECT 1');
    return {
      db: pool,
      url: postgresUrl,
      exec: async (sql) => void (await pool.query(sql)),
      close: () => pool.end(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'reflex-bench-leases-'));
  const file = join(dir, 'leases.db');
  const db = new Database(file, { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  return {
    db,
    url: file,
    exec: async (sql) => void db.exec(sql),
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Takeover times of `rounds` SIGKILLed members, in ms, on one backend. */
async function takeovers(
  name: 'sqlite' | 'mysql' | 'postgres',
  rounds: number,
  log: (msg: string) => void,
): Promise<number[]> {
  const h = await openDb(name);
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const events = newEventsTable(`bench_lease_events_${suffix}`);
  const cursors = newCursorsTable(`bench_lease_cursors_${suffix}`);
  const leases = newLeasesTable(`bench_leases_${suffix}`);
  const children: ChildProcess[] = [];
  const start = async (member: string): Promise<ChildProcess> => {
    const config: LeaseMemberConfig = {
      dialect: name,
      url: h.url,
      events: events.name,
      cursors: cursors.name,
      leases: leases.name,
      group: 'bench',
      shards,
      member,
      leasePeriodMs,
      renewIntervalMs,
    };
    const child = spawn(process.execPath, [memberScript, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await until(`member ${member} ready`, async () => out.includes('ready'), 30_000);
    return child;
  };
  const held = async (member: string): Promise<number> =>
    (await leases.holders(h.db, 'bench')).holders.filter((x) => x === member).length;
  const times: number[] = [];
  try {
    await events.createTable(h.db);
    await cursors.createTable(h.db);
    await leases.createTable(h.db);
    await start('survivor');
    for (let round = 1; round <= rounds; round++) {
      const victim = `victim${round}`;
      const child = await start(victim);
      await until('4/4', async () => (await held(victim)) === 4, 30_000);
      log(`${name}: lease takeover, round ${round}`);
      const killedAt = performance.now();
      child.kill('SIGKILL');
      await until('the takeover', async () => (await held('survivor')) === shards, 30_000);
      times.push(performance.now() - killedAt);
    }
  } finally {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    for (const t of [events.name, cursors.name, leases.name]) {
      await h.exec(`DROP TABLE IF EXISTS ${name === 'mysql' ? `\`${t}\`` : `"${t}"`}`);
    }
    await h.close();
  }
  return times;
}

/** The takeover rows (p50, p99) of every SQL backend asked for. */
export async function leaseRows(
  backends: readonly string[],
  rounds: number,
  log: (msg: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const name of ['sqlite', 'mysql', 'postgres'] as const) {
    if (!backends.includes(name)) continue;
    const base = {
      section: 'leases',
      backend: name,
      baselineLabel: 'lease period',
      baseline: { value: leasePeriodMs, unit: 'ms' },
      target: withinTwoPeriods,
    };
    const measure = `takeover of a SIGKILLed member's shards (${shards} shards, 2 processes)`;
    try {
      const times = await takeovers(name, rounds, log);
      const note = `${rounds} rounds; renewal every ${renewIntervalMs} ms`;
      for (const q of [0.5, 0.99]) {
        rows.push(
          makeRow({
            ...base,
            measure: `${measure}, p${q * 100}`,
            status: 'measured',
            value: { value: percentile(times, q), unit: 'ms' },
            note,
          }),
        );
      }
    } catch (err) {
      log(`${name} scale-out: ${String(err)}`);
      rows.push(
        makeRow({
          ...base,
          measure,
          status: /ECONNREFUSED|connect/.test(String(err)) ? 'skipped' : 'error',
          note: String(err).split('\n')[0]?.slice(0, 160) ?? '',
        }),
      );
    }
  }
  return rows;
}
