// Private database servers for fault tests and the recovery bench: a MariaDB or PostgreSQL of
// their own (data directory under a temp dir, loopback port of their own), started, stopped,
// killed and restarted by the caller — never the machine's shared servers on 3306/5432.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type PrivateDbKind = 'mariadb' | 'postgres';

/** A private server. Every method is bounded in time; `destroy` leaves no process nor file. */
export interface PrivateDb {
  readonly kind: PrivateDbKind;
  readonly url: string;
  /** True while its process runs. */
  readonly running: boolean;
  /** Starts the server (again, on the same data and port); resolves once it answers a query. */
  start(): Promise<void>;
  /**
   * Stops it; resolves once the process exited. `kill`: at once (MariaDB SIGKILL, PostgreSQL
   * SIGQUIT, its immediate shutdown); `fast`: an orderly shutdown (SIGTERM / SIGINT).
   */
  stop(how: 'kill' | 'fast'): Promise<void>;
  /** Stops the server if it runs and removes its directory. */
  destroy(): Promise<void>;
}

const mariadbd = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'];

/** The MariaDB server binary, or undefined. */
export function mariadbBinary(): string | undefined {
  return mariadbd.find((p) => existsSync(p));
}

/** The directory of PostgreSQL's server binaries (newest version), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** Why a private server cannot run here (the missing binary), or undefined when it can. */
export function missingBinary(kind: PrivateDbKind): string | undefined {
  if (kind === 'mariadb') {
    return mariadbBinary() === undefined
      ? `mariadbd not found (${mariadbd.join(', ')})`
      : undefined;
  }
  return postgresBinDir() === undefined
    ? 'postgres/initdb not found under /usr/lib/postgresql/*/bin'
    : undefined;
}

/** A free loopback port (the kernel's pick, released for the server to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Every private server process of this process, killed at exit if a hook was skipped. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retries `probe` every 20 ms until it succeeds, the child exits, or `ms` passes. */
async function untilAnswers(
  what: string,
  child: ChildProcess,
  ms: number,
  probe: () => Promise<void>,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    }
    try {
      await within(what, 2_000, probe());
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} did not answer within ${ms} ms: ${String(last)}\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Launch {
  readonly kind: PrivateDbKind;
  readonly url: string;
  readonly dir: string;
  spawn(): ChildProcess;
  probe(): Promise<void>;
  readonly signals: { readonly kill: NodeJS.Signals; readonly fast: NodeJS.Signals };
}

function controller(launch: Launch): PrivateDb {
  let child: ChildProcess | undefined;
  let output = '';
  const stop = async (how: 'kill' | 'fast'): Promise<void> => {
    const c = child;
    if (c === undefined) return;
    c.kill(launch.signals[how]);
    try {
      await within(`${launch.kind} stop`, 15_000, exited(c));
    } catch {
      c.kill('SIGKILL');
      await exited(c);
    }
    live.delete(c);
    child = undefined;
  };
  return {
    kind: launch.kind,
    url: launch.url,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child !== undefined) throw new Error(`${launch.kind} already running`);
      output = '';
      const c = launch.spawn();
      child = c;
      live.add(c);
      const keep = (d: Buffer): void => {
        output = (output + d.toString()).slice(-4000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      try {
        await untilAnswers(`private ${launch.kind}`, c, 30_000, launch.probe, () => output);
      } catch (err) {
        await stop('kill');
        throw err;
      }
    },
    stop,
    async destroy() {
      await stop('kill');
      rmSync(launch.dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command to its end (bounded), as `uid`/`gid` when given; rejects with its output. */
function runToEnd(
  cmd: string,
  args: readonly string[],
  ids: { uid?: number; gid?: number },
  ms: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(c);
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), ms);
    c.once('error', reject);
    c.once('exit', (code) => {
      clearTimeout(timer);
      live.delete(c);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`));
    });
  });
}

/**
 * A private MariaDB on an empty data directory (no system tables: `--skip-grant-tables`, root
 * without a password; ~1 s to start, where mariadb-install-db would take ~16 s), with a `test`
 * database.
 */
export async function privateMariadb(): Promise<PrivateDb> {
  const bin = mariadbBinary();
  if (bin === undefined) throw new Error(missingBinary('mariadb'));
  const dir = mkdtempSync(join(tmpdir(), 'reflex-private-mariadb-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}/test`;
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-grant-tables',
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=16M',
    '--innodb-flush-log-at-trx-commit=2',
    '--max-connections=50',
    `--log-error=${join(dir, 'error.log')}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
  ];
  let created = false;
  const db = controller({
    kind: 'mariadb',
    url,
    dir,
    spawn: () => spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
    probe: async () => {
      const conn = await mysql.createConnection({
        host: '127.0.0.1',
        port,
        user: 'root',
        connectTimeout: 1_000,
      });
      try {
        if (!created) {
          await conn.query('CREATE DATABASE IF NOT EXISTS test');
          created = true;
        } else {
          await conn.query('SELECT 1');
        }
      } finally {
        conn.destroy();
      }
    },
    signals: { kill: 'SIGKILL', fast: 'SIGTERM' },
  });
  try {
    await db.start();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/**
 * A private PostgreSQL: `initdb` (trust, no sync; as the `postgres` user when run as root, which
 * initdb and postgres refuse to run as) and a `test` database.
 */
export async function privatePostgres(): Promise<PrivateDb> {
  const binDir = postgresBinDir();
  if (binDir === undefined) throw new Error(missingBinary('postgres'));
  const dir = mkdtempSync(join(tmpdir(), 'reflex-private-postgres-'));
  const data = join(dir, 'data');
  let ids: { uid?: number; gid?: number } = {};
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresUser();
    ids = { uid, gid };
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/test`;
  try {
    await runToEnd(
      join(binDir, 'initdb'),
      ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8'],
      ids,
      60_000,
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'shared_buffers=16MB',
    '-c',
    'fsync=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=40',
  ];
  let created = false;
  const db = controller({
    kind: 'postgres',
    url,
    dir,
    spawn: () =>
      spawn(join(binDir, 'postgres'), args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] }),
    probe: async () => {
      const client = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'postgres',
        database: created ? 'test' : 'postgres',
        connectionTimeoutMillis: 1_000,
      });
      client.on('error', () => {});
      await client.connect();
      try {
        if (!created) {
          await client.query('CREATE DATABASE test');
          created = true;
        } else {
          await client.query('SELECT 1');
        }
      } finally {
        await client.end().catch(() => {});
      }
    },
    signals: { kill: 'SIGQUIT', fast: 'SIGINT' },
  });
  try {
    await db.start();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

function postgresUser(): { uid: number; gid: number } {
  // Read from the passwd database without a dependency: `id -u postgres` would need a shell.
  const passwd = readPasswd();
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  const f = line?.split(':');
  if (f === undefined || f[2] === undefined || f[3] === undefined) {
    throw new Error('no postgres user: initdb refuses to run as root');
  }
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}
