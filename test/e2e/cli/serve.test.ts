import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { cliPath, jsonLines, reflex } from '../../support/cli.js';
import { RawH2 } from '../../support/raw-h2.js';
import { mysqlServer, postgresServer, requireServer, uniqueName } from '../../support/servers.js';
import { makeCerts } from '../../support/tls.js';
import { waitFor } from '../../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Serving {
  readonly grpc: string;
  readonly metrics: string | undefined;
  /** Sends the signal and resolves with the exit code and stderr. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string; stdout: string }>;
}

/** Starts `reflex serve …` and waits (bounded) for the addresses it prints. */
function serve(args: readonly string[]): Promise<Serving> {
  const child: ChildProcess = spawn(process.execPath, [cliPath, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start within 20s:\n${stdout}\n${stderr}`));
    }, 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening:\n${stdout}\n${stderr}`));
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const grpc = /^grpc (\S+)$/m.exec(stdout)?.[1];
      const metricsOff = args.includes('--no-metrics');
      const metrics = /^metrics (\S+)$/m.exec(stdout)?.[1];
      if (grpc === undefined || (!metricsOff && metrics === undefined)) return;
      clearTimeout(timer);
      resolve({
        grpc,
        metrics,
        async stop(signal = 'SIGTERM') {
          child.kill(signal);
          const code = await exited;
          return { code, stderr, stdout };
        },
      });
    });
  });
}

interface Backend {
  readonly name: string;
  url(t: TestContext): Promise<string | undefined>;
  /** Inserts n events with plain SQL (the rsql default columns). */
  insert(url: string, table: string, n: number): Promise<void>;
  drop(url: string, tables: readonly string[]): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    url: () => Promise.resolve(`sqlite:${join(dir, `${uniqueName('s')}.db`)}`),
    async insert(url, table, n) {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(url.slice('sqlite:'.length));
      const stmt = db.prepare(
        `INSERT INTO ${table} (foreign_id, timestamp, type) VALUES (?, ?, ?)`,
      );
      for (let i = 1; i <= n; i++) stmt.run(`user-${i}`, Date.now(), i);
      db.close();
    },
    drop: () => Promise.resolve(),
  },
  {
    name: 'MariaDB',
    url: (t) => requireServer(t, mysqlServer),
    async insert(url, table, n) {
      const { createPool } = await import('mysql2/promise');
      const pool = createPool({ uri: url, connectionLimit: 1 });
      for (let i = 1; i <= n; i++) {
        await pool.query(
          `INSERT INTO ${table} (foreign_id, timestamp, type) VALUES (?, NOW(6), ?)`,
          [`user-${i}`, i],
        );
      }
      await pool.end();
    },
    async drop(url, tables) {
      const { createPool } = await import('mysql2/promise');
      const pool = createPool({ uri: url, connectionLimit: 1 });
      await pool.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
      await pool.end();
    },
  },
  {
    name: 'PostgreSQL',
    url: (t) => requireServer(t, postgresServer),
    async insert(url, table, n) {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      for (let i = 1; i <= n; i++) {
        await pool.query(
          `INSERT INTO ${table} (foreign_id, timestamp, type) VALUES ($1, now(), $2)`,
          [`user-${i}`, i],
        );
      }
      await pool.end();
    },
    async drop(url, tables) {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      await pool.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
      await pool.end();
    },
  },
];

for (const b of backends) {
  describe(`reflex migrate, tail and serve on ${b.name}`, () => {
    it('migrate (twice), tail the table, serve it over gRPC with metrics, stop on SIGTERM', async (t) => {
      const url = await b.url(t);
      if (url === undefined) return;
      const events = uniqueName('cli_ev');
      const other = uniqueName('cli_ev2');
      const cursors = uniqueName('cli_cur');
      const errors = uniqueName('cli_err');
      t.after(() => b.drop(url, [events, other, cursors, errors, `${errors}_events`]));

      for (let i = 0; i < 2; i++) {
        const m = await reflex([
          'migrate',
          url,
          '--events',
          events,
          other,
          '--cursors',
          cursors,
          '--errors',
          errors,
        ]);
        assert.equal(m.code, 0, m.stderr);
        assert.match(m.stderr, new RegExp(`events table ${events}: ok`));
        assert.match(m.stderr, new RegExp(`cursors table ${cursors}: ok`));
        assert.match(m.stderr, new RegExp(`errors table ${errors} \\(\\+ ${errors}_events\\): ok`));
      }
      await b.insert(url, events, 5);
      await b.insert(url, other, 2);

      let r = await reflex(['tail', url, '--table', events, '--to-head']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        jsonLines(r.stdout).map((e) => [e.id, e.type, e.foreignId]),
        [1, 2, 3, 4, 5].map((i) => [String(i), i, `user-${i}`]),
      );
      r = await reflex([
        'tail',
        url,
        '--table',
        events,
        '--to-head',
        '--after',
        '3',
        '--types',
        '5',
      ]);
      assert.deepEqual(
        jsonLines(r.stdout).map((e) => e.id),
        ['5'],
      );

      const s = await serve([
        url,
        '--table',
        events,
        `${other}=example.Other/Stream`,
        '--address',
        '127.0.0.1:0',
        '--metrics-address',
        '127.0.0.1:0',
      ]);
      try {
        r = await reflex(['tail', s.grpc, '--to-head']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          jsonLines(r.stdout).map((e) => e.id),
          ['1', '2', '3', '4', '5'],
        );
        r = await reflex(['tail', s.grpc, '--to-head', '--method', 'example.Other/Stream']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          jsonLines(r.stdout).map((e) => e.foreignId),
          ['user-1', 'user-2'],
        );
        const res = await fetch(s.metrics as string);
        assert.equal(res.status, 200);
        const text = await res.text();
        assert.match(
          text,
          new RegExp(`^reflex_events_table_poll_total\\{table="${events}"\\} \\d+`, 'm'),
        );
        assert.match(text, /^reflex_serve_sent_events_total \d+/m);
        const sent = Number(/^reflex_serve_sent_events_total (\d+)/m.exec(text)?.[1]);
        assert.equal(sent, 7, 'events sent over both methods');
      } finally {
        const stopped = await s.stop('SIGTERM');
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.match(stopped.stderr, /stopping/);
      }
    });
  });
}

describe('reflex serve with TLS and a token', () => {
  it('grpcs:// with --ca and --token-file streams; without the token → exit 1', async () => {
    const certs = makeCerts();
    const f = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const db = `sqlite:${join(dir, 'tls.db')}`;
    const m = await reflex(['migrate', db, '--events', 'user_events', '--no-errors']);
    assert.equal(m.code, 0, m.stderr);
    await backends[0]?.insert(db, 'user_events', 3);
    const token = f('token', 'let-me-in\n');
    const s = await serve([
      db,
      '--table',
      'user_events',
      '--address',
      '127.0.0.1:0',
      '--no-metrics',
      '--tls-cert',
      f('cert.pem', certs.serverCert),
      '--tls-key',
      f('key.pem', certs.serverKey),
      '--token-file',
      token,
    ]);
    try {
      const ca = f('ca.pem', certs.ca);
      const port = s.grpc.split(':').at(-1);
      let r = await reflex([
        'tail',
        `grpcs://localhost:${port}`,
        '--ca',
        ca,
        '--token-file',
        token,
        '--to-head',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonLines(r.stdout).length, 3);
      r = await reflex(['tail', `grpcs://localhost:${port}`, '--ca', ca, '--to-head']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /UNAUTHENTICATED|ERR_REFLEX_UNAUTHENTICATED/);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    } finally {
      const stopped = await s.stop('SIGINT');
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.doesNotMatch(stopped.stdout, /^metrics /m, '--no-metrics serves no metrics');
    }
  });

  it('bad serve flags → exit code 2', async () => {
    const cases = [
      ['serve', 'sqlite:x.db', '--table', 'a', 'b'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--tls-cert', 'c.pem'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--address', 'nope'],
      ['serve', '127.0.0.1:9000', '--table', 'a'],
      ['serve', 'sqlite:x.db'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--max-streams', '0'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--max-connections', 'many'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--request-timeout', 'soon'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--idle-timeout', '0s'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--keepalive', '10ms'],
      ['serve', 'sqlite:x.db', '--table', 'a', '--abusive-hold', 'forever'],
    ];
    await Promise.all(
      cases.map(async (args) => {
        const r = await reflex(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      }),
    );
  });
});

describe('reflex serve limits and checks', () => {
  it('a missing table: exit 1 at start, naming it', async () => {
    const db = `sqlite:${join(dir, 'missing.db')}`;
    const m = await reflex(['migrate', db, '--events', 'user_events', '--no-errors']);
    assert.equal(m.code, 0, m.stderr);
    const r = await reflex(['serve', db, '--table', 'nope_events', '--no-metrics', '--no-status']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /nope_events/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  });

  it('--token without TLS warns; --max-streams and --request-timeout reach the server; every event still streams', async () => {
    const db = `sqlite:${join(dir, 'limits.db')}`;
    const m = await reflex(['migrate', db, '--events', 'user_events', '--no-errors']);
    assert.equal(m.code, 0, m.stderr);
    await backends[0]?.insert(db, 'user_events', 5);
    const s = await serve([
      db,
      '--table',
      'user_events',
      '--address',
      '127.0.0.1:0',
      '--no-metrics',
      '--no-status',
      '--token',
      'tok',
      '--max-streams',
      '3',
      '--request-timeout',
      '300ms',
    ]);
    const port = Number(s.grpc.split(':').at(-1));
    const raw = await RawH2.connect(port);
    try {
      const calls = Array.from({ length: 5 }, () =>
        raw.callBytes('/reflexpb.Reflex/Stream', {
          body: false,
          extra: [['authorization', 'Bearer tok']],
        }),
      );
      raw.write(Buffer.concat(calls.map((c) => c.bytes)));
      await waitFor('two refused streams', () => raw.resets().size >= 2, 10_000);
      assert.deepEqual(
        [...raw.resets()].filter(([, code]) => code === 7).map(([id]) => id),
        calls.slice(3).map((c) => c.id),
      );
      // The three accepted ones never send a request: ended by the request timeout.
      await waitFor(
        'the three calls ended',
        () => calls.slice(0, 3).every((c) => raw.ended(c.id)),
        10_000,
      );
      const r = await reflex(['tail', s.grpc, '--token', 'tok', '--to-head']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        jsonLines(r.stdout).map((e) => e.id),
        ['1', '2', '3', '4', '5'],
      );
    } finally {
      raw.destroy();
      const stopped = await s.stop('SIGTERM');
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /warning: --token without --tls-cert/);
    }
  });
});
