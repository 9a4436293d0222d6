import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { reflex } from '../../support/cli.js';

/** One line on stderr, no stack trace. */
function assertOneLine(stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m);
}

describe('reflex: bad arguments and failures', { concurrency: 4 }, () => {
  const usageCases: [string, string[], RegExp][] = [
    ['an unknown command', ['nope'], /unknown command 'nope'/],
    ['an unknown option', ['demo', '--bogus'], /unknown option '--bogus'/],
    ['a malformed duration', ['demo', '--duration', 'soon'], /--duration must be a duration/],
    ['a zero rate', ['demo', '--rate', '0'], /--rate must be a positive integer/],
    [
      'a missing argument',
      ['cursors', 'get', 'sqlite:x.db'],
      /missing required argument 'consumer'/,
    ],
    ['a URL of no known kind', ['cursors', 'list', 'ftp://example.com/x'], /not a database URL/],
    [
      'a gRPC address where a database is needed',
      ['cursors', 'list', '127.0.0.1:9000'],
      /not a database URL/,
    ],
    [
      'a bad table name',
      ['cursors', 'list', 'sqlite::memory:', '--table', 'x; drop'],
      /--table must be a plain SQL name/,
    ],
    ['a missing required option', ['lag', 'sqlite::memory:'], /--events <table>' not specified/],
  ];
  for (const [what, args, pattern] of usageCases) {
    it(`${what} → exit code 2 and one line`, async () => {
      const r = await reflex(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /^reflex/);
      assertOneLine(r.stderr);
      assert.equal(r.stdout, '');
    });
  }

  it('an unreachable server → exit code 1 and one line naming it; --debug adds the stack', async () => {
    const r = await reflex(['cursors', 'list', 'mysql://root@127.0.0.1:1/test']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot connect to mysql:\/\/root@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    assertOneLine(r.stderr);
    const d = await reflex([
      'cursors',
      'list',
      'postgres://postgres:secret@127.0.0.1:1/test',
      '--debug',
    ]);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stderr, /cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test/);
    assert.doesNotMatch(d.stderr, /secret/);
    assert.match(d.stderr, /^\s+at /m);
  });

  it('a missing SQLite file → exit code 1, not a new empty file', async () => {
    // In a folder that exists, so that creating the file would have been possible.
    const dir = mkdtempSync(join(tmpdir(), 'reflex-usage-'));
    try {
      const file = join(dir, 'none.db');
      const r = await reflex(['cursors', 'list', `sqlite:${file}`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot open sqlite:.*none\.db: no such file/);
      assertOneLine(r.stderr);
      assert.equal(existsSync(file), false, 'no file was created');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cursors set: a malformed int cursor or cursor type → exit code 2 before the database is opened', async () => {
    // The file does not exist: a usage error comes first, so nothing is opened or written.
    for (const args of [['abc'], ['007'], ['-5'], ['4', '--cursor-type', 'float']]) {
      const r = await reflex(['cursors', 'set', 'sqlite:/nonexistent/none.db', 'mailer', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /cursor/);
      assertOneLine(r.stderr);
    }
  });

  it('migrate puts a SQLite file it creates in WAL mode and leaves an existing one as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-migrate-'));
    try {
      const existing = join(dir, 'app.db');
      const app = new Database(existing);
      app.pragma('journal_mode = DELETE');
      app.close();
      const created = join(dir, 'new.db');
      for (const file of [existing, created]) {
        const r = await reflex(['migrate', `sqlite:${file}`]);
        assert.equal(r.code, 0, r.stderr);
      }
      const mode = (file: string): unknown => {
        const db = new Database(file, { readonly: true });
        try {
          return db.pragma('journal_mode', { simple: true });
        } finally {
          db.close();
        }
      };
      assert.equal(mode(existing), 'delete');
      assert.equal(mode(created), 'wal');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing subcommand → the help on stderr, exit code 2', async () => {
    for (const args of [[], ['cursors']]) {
      const r = await reflex(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^Usage: reflex/);
    }
  });

  it('--help on every command exits 0 and shows an example', async () => {
    const commands = [
      [],
      ['demo'],
      ['tail'],
      ['serve'],
      ['migrate'],
      ['cursors'],
      ['cursors', 'list'],
      ['cursors', 'get'],
      ['cursors', 'set'],
      ['cursors', 'reset'],
      ['lag'],
    ];
    await Promise.all(
      commands.map(async (c) => {
        const r = await reflex([...c, '--help']);
        assert.equal(r.code, 0, `${c.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, /Examples:\n {2}\$ reflex /, c.join(' '));
      }),
    );
  });
});
