import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { reflex } from '../../support/cli.js';
import { mysqlServer, postgresServer, requireServer, uniqueName } from '../../support/servers.js';

interface Summary {
  readonly written: number;
  readonly head: number;
  readonly consumers: Record<string, { consumed: number; after: number; cursor: number }>;
}

/** Reads the demo's summary and checks its verdict. */
function summary(stdout: string): Summary {
  assert.match(stdout, /nothing lost: every event reached both consumers, cursors at the head/);
  const users = /users +(\d+) events written this run, head (\d+)/.exec(stdout);
  assert.ok(users, stdout);
  const consumers: Summary['consumers'] = {};
  for (const name of ['audit', 'mailer']) {
    const m = new RegExp(
      `${name} +(\\d+) consumed(?: after cursor (\\d+))?, cursor (\\d+) at the head, 0 missing`,
    ).exec(stdout);
    assert.ok(m, `${name} line in\n${stdout}`);
    consumers[name] = { consumed: Number(m[1]), after: Number(m[2] ?? 0), cursor: Number(m[3]) };
  }
  return { written: Number(users[1]), head: Number(users[2]), consumers };
}

const dirs: string[] = [];
function tempCwd(): string {
  const d = mkdtempSync(join(tmpdir(), 'reflex-cli-demo-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The demo's tables with a prefix unique to this run (runs on the shared servers must not meet). */
function demoTables(prefix: string): string[] {
  return [`${prefix}users`, `${prefix}user_events`, `${prefix}cursors`];
}

/** Drops the demo's tables on a server, so the test leaves nothing. */
async function dropDemoTables(
  kind: 'mysql' | 'postgres',
  url: string,
  prefix: string,
): Promise<void> {
  const tables = demoTables(prefix).join(', ');
  if (kind === 'mysql') {
    const { createPool } = await import('mysql2/promise');
    const pool = createPool({ uri: url, connectionLimit: 1 });
    await pool.query(`DROP TABLE IF EXISTS ${tables}`);
    await pool.end();
  } else {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await pool.query(`DROP TABLE IF EXISTS ${tables}`);
    await pool.end();
  }
}

/** Two runs in one directory: the second continues from the cursors the first left. */
async function twoRuns(t: TestContext, db: string[]): Promise<void> {
  const cwd = tempCwd();
  const first = await reflex(['demo', '--duration', '1s', '--rate', '150', ...db], { cwd });
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  assert.equal(first.stderr, '');
  // Not a terminal: plain progress lines, no cursor movement codes.
  assert.ok(!first.stdout.includes(String.fromCharCode(27)), 'escape codes in piped output');
  // The head shown is never behind a cursor: no negative lag in the live lines.
  assert.doesNotMatch(first.stdout, /lag -/);
  const s1 = summary(first.stdout);
  assert.ok(s1.written > 0);
  for (const c of Object.values(s1.consumers)) assert.equal(c.cursor, s1.head);

  const second = await reflex(['demo', '--duration', '1s', '--rate', '150', ...db], { cwd });
  assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, /continuing: head \d+, audit cursor \d+, mailer cursor \d+/);
  assert.doesNotMatch(second.stdout, /lag -/);
  const s2 = summary(second.stdout);
  assert.equal(s2.head - s1.head, s2.written, 'ids continue from the first run');
  for (const [name, c] of Object.entries(s2.consumers)) {
    assert.equal(c.after, s1.head, `${name} starts after the first run's head`);
    assert.equal(c.consumed, s2.written, `${name} consumes exactly the new events`);
    assert.equal(c.cursor, s2.head);
  }
  t.diagnostic(`first ${s1.written} events, second ${s2.written}`);
}

describe('reflex demo', () => {
  it('SQLite (the default): files under .reflex-demo/, a second run continues from the cursors', async (t) => {
    await twoRuns(t, []);
    const cwd = dirs.at(-1) as string;
    assert.ok(existsSync(join(cwd, '.reflex-demo', 'users.db')));
    assert.ok(existsSync(join(cwd, '.reflex-demo', 'mailer.db')));
    const r = await reflex(['lag', 'sqlite:.reflex-demo/users.db', '--events', 'user_events'], {
      cwd,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"consumer":"audit".*"lagEvents":0/);
    // The mailer is another service: its cursors are in its own database.
    const m = await reflex(
      [
        'lag',
        'sqlite:.reflex-demo/users.db',
        '--events',
        'user_events',
        '--cursors-db',
        'sqlite:.reflex-demo/mailer.db',
      ],
      { cwd },
    );
    assert.equal(m.code, 0, m.stderr);
    assert.match(
      m.stdout,
      /^\{"consumer":"mailer","cursor":"(\d+)","head":"\1","lagEvents":0,"lagSeconds":0\}\n$/,
    );
  });

  it('MariaDB (--db mysql://…)', async (t) => {
    const url = await requireServer(t, mysqlServer);
    if (url === undefined) return;
    const prefix = `${uniqueName('rdemo')}_`;
    t.after(() => dropDemoTables('mysql', url, prefix));
    await twoRuns(t, ['--db', url, '--table-prefix', prefix]);
    const cwd = dirs.at(-1) as string;
    const r = await reflex(
      ['lag', url, '--events', `${prefix}user_events`, '--cursors', `${prefix}cursors`],
      { cwd },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"consumer":"audit".*"lagEvents":0/);
  });

  it('PostgreSQL (--db postgres://…)', async (t) => {
    const url = await requireServer(t, postgresServer);
    if (url === undefined) return;
    const prefix = `${uniqueName('rdemo')}_`;
    t.after(() => dropDemoTables('postgres', url, prefix));
    await twoRuns(t, ['--db', url, '--table-prefix', prefix]);
    const cwd = dirs.at(-1) as string;
    const r = await reflex(
      ['lag', url, '--events', `${prefix}user_events`, '--cursors', `${prefix}cursors`],
      { cwd },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"consumer":"audit".*"lagEvents":0/);
  });

  it('in memory (--db memory), stopped by SIGINT in --forever mode, still checks its summary', async () => {
    const r = await reflex(['demo', '--db', 'memory', '--forever'], {
      cwd: tempCwd(),
      onSpawn: (child) => {
        child.stdout?.once('data', () => setTimeout(() => child.kill('SIGINT'), 500));
      },
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    summary(r.stdout);
  });
});
