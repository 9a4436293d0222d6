// Through a connection pooler in transaction mode (PgBouncer): no session state is needed for
// correctness. Every poll and gap check is one autocommit statement; LISTEN cannot work there,
// and with notify on it only fails quietly (polling delivers). Skipped when pgbouncer is not
// installed (`apt-get install pgbouncer`).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type pg from 'pg';
import type { Event } from '../../../src/core/index.js';
import { newCursorsTable, newEventsTable } from '../../../src/rsql/index.js';
import { pgPool } from '../../support/pg-pool.js';
import { postgresServer, requireServer, uniqueName } from '../../support/servers.js';
import { waitFor } from '../../support/wait.js';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

describe('postgres through PgBouncer (transaction mode)', () => {
  let bouncer: ChildProcess | undefined;
  let dir: string | undefined;
  const pools: pg.Pool[] = [];
  const tables: string[] = [];
  let direct: pg.Pool | undefined;

  async function start(t: import('node:test').TestContext): Promise<string | undefined> {
    const url = await requireServer(t, postgresServer);
    if (url === undefined) return undefined;
    if (PGBOUNCER === undefined) {
      t.skip('pgbouncer is not installed');
      return undefined;
    }
    direct ??= pgPool(url, 2);
    const u = new URL(url);
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'reflex-pgbouncer-'));
    chmodSync(dir, 0o755);
    const db = u.pathname.slice(1);
    const user = decodeURIComponent(u.username || 'postgres');
    writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${db} = host=${u.hostname} port=${u.port || '5432'} dbname=${db} user=${user}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        'default_pool_size = 4',
        'max_client_conn = 100',
        'unix_socket_dir =',
        'ignore_startup_parameters = extra_float_digits,application_name',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const args = [join(dir, 'pgbouncer.ini')];
    if (process.getuid?.() === 0) args.unshift('-u', 'postgres'); // pgbouncer refuses to run as root
    bouncer = spawn(PGBOUNCER, args, { stdio: 'ignore' });
    const bouncerUrl = `postgres://${user}@127.0.0.1:${port}/${db}`;
    const probe = pgPool(bouncerUrl, 1);
    pools.push(probe);
    await waitFor('pgbouncer to accept connections', () =>
      probe.query('SELECT 1').then(
        () => true,
        () => false,
      ),
    );
    return bouncerUrl;
  }

  after(async () => {
    for (const p of pools) await p.end();
    for (const name of tables) await direct?.query(`DROP TABLE IF EXISTS "${name}"`);
    await direct?.end();
    if (bouncer !== undefined && bouncer.exitCode === null) {
      const exited = new Promise((r) => bouncer?.once('exit', r));
      bouncer.kill('SIGTERM');
      await exited;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent writers with rollbacks and held transactions, readers, cursors: all through the pooler, NOTIFY on and off', async (t) => {
    const url = await start(t);
    if (url === undefined) return;
    const pool = pgPool(url, 12);
    pools.push(pool);
    for (const notify of [false, true]) {
      const name = uniqueName('pgb_events');
      const cursorsName = uniqueName('pgb_cursors');
      tables.push(name, cursorsName);
      const events = newEventsTable(name, { notify, pollIntervalMs: 20 });
      const cursors = newCursorsTable(cursorsName);
      await events.createTable(pool);
      await cursors.createTable(pool);
      const stream = await events.toStream(pool)('');
      const got: Event[] = [];
      const reading = (async () => {
        try {
          for (;;) got.push(await stream.recv());
        } catch {
          // closed
        }
      })();
      const stop = Date.now() + 1500;
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          let n = 0;
          while (Date.now() < stop) {
            const c = await pool.connect();
            try {
              await c.query('BEGIN');
              await events.insert(c, `w${w}-${n++}`, 1);
              await new Promise((r) => setTimeout(r, Math.random() < 0.1 ? 300 : 5));
              await c.query(Math.random() < 0.3 ? 'ROLLBACK' : 'COMMIT');
            } finally {
              c.release();
            }
          }
        }),
      );
      const final = await pool.query<{ sid: string }>(
        `SELECT id::text AS sid FROM "${name}" ORDER BY id`,
      );
      await waitFor(
        `${final.rowCount} events (notify ${notify})`,
        () => got.length >= (final.rowCount ?? 0),
      );
      assert.deepEqual(
        got.map((e) => e.id),
        final.rows.map((r) => r.sid),
      );
      const store = cursors.toStore(pool, { asyncPeriodMs: 0 });
      const last = got[got.length - 1]?.id ?? '0';
      await store.setCursor('c', last);
      assert.equal(await store.getCursor('c'), last);
      await store.close();
      await stream.close();
      await reading;
      await events.close();
    }
  });
});
