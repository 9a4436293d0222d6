import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { runCli } from '../../../src/cli/program.js';
import { jsonLines, reflex } from '../../support/cli.js';

/** A terminal-like stdout for an in-process run: the table output, not JSON lines. */
class Tty extends Writable {
  text = '';
  readonly isTTY = true;
  readonly columns = 200;
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function runInProcess(
  args: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Tty();
  const stderr = new Tty();
  const code = await runCli(args, { stdout, stderr, signal: new AbortController().signal });
  return { code, out: stdout.text, err: stderr.text };
}

// ESC (colours, cursor moves), a C1 CSI, DEL and a right-to-left override.
const hostile = 'evil\x1b[31m\x9b2J\x7f\u202eid';
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('reflex, as a newcomer meets it (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-newcomer-'));
  const file = join(dir, 'app.db');
  const url = `sqlite:${file}`;
  let db: Database.Database;

  before(async () => {
    const r = await reflex(['migrate', url, '--events', 'events', '--metadata-column', 'metadata']);
    assert.equal(r.code, 0, r.stderr);
    const { default: Sqlite } = await import('better-sqlite3');
    db = new Sqlite(file);
    const insert = db.prepare(
      'INSERT INTO events (foreign_id, timestamp, type, metadata) VALUES (?, ?, ?, ?)',
    );
    const now = Date.now();
    insert.run('u1', now - 2 * 3_600_000, 1, Buffer.from([0, 1, 2, 255]));
    insert.run(hostile, now - 2 * 3_600_000, 2, Buffer.from('{"a":1}'));
    insert.run('u3', now - 3_600_000 + 60_000, 1, null); // 59 minutes old
    insert.run('u4', now, 1, null);
    db.prepare('INSERT INTO cursors (id, last_event_id, updated_at) VALUES (?, ?, ?)').run(
      hostile,
      '1',
      now,
    );
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tail --json prints metadata as base64, as the gRPC source does', async () => {
    const r = await reflex([
      'tail',
      url,
      '--table',
      'events',
      '--metadata-column',
      'metadata',
      '--to-head',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = jsonLines(r.stdout);
    assert.equal(rows.length, 4);
    assert.equal(rows[0]?.metadata, Buffer.from([0, 1, 2, 255]).toString('base64'));
    assert.equal(rows[1]?.metadata, Buffer.from('{"a":1}').toString('base64'));
    assert.equal(rows[2]?.metadata, undefined);
  });

  it('control characters of foreign ids and consumer names are escaped: tail, cursors list, errors', async () => {
    // JSON lines: still the same string once parsed, but nothing raw on the terminal.
    let r = await reflex(['tail', url, '--table', 'events', '--to-head', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, raw);
    assert.equal(jsonLines(r.stdout)[1]?.foreignId, hostile);

    // Tables on a terminal.
    let t = await runInProcess([
      'tail',
      url,
      '--table',
      'events',
      '--to-head',
      '--metadata-column',
      'metadata',
    ]);
    assert.equal(t.code, 0, t.err);
    assert.doesNotMatch(t.out, raw);
    assert.match(t.out, /evil\\x1b\[31m\\x9b2J\\x7f\\u202eid/);
    assert.match(t.out, /base64:AAEC\/w==/);
    t = await runInProcess(['cursors', 'list', url]);
    assert.equal(t.code, 0, t.err);
    assert.doesNotMatch(t.out, raw);
    assert.match(t.out, /evil\\x1b\[31m/);

    // An error message naming a consumer.
    r = await reflex(['lag', url, '--events', 'events', '--consumer', `x${hostile}`]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, raw);
    assert.match(r.stderr, /no cursor in cursors for xevil\\x1b\[31m/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  });

  it('tail --lag 1h --to-head prints the events older than an hour, then ends with a note', async () => {
    const r = await reflex(['tail', url, '--table', 'events', '--lag', '1h', '--to-head'], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      jsonLines(r.stdout).map((x) => x.id),
      ['1', '2'],
    );
    assert.match(
      r.stderr,
      /stopped before event 3: it and the events after it are newer than --lag 1h/,
    );
    // Every event old enough: it ends at the head, as without --lag.
    const all = await reflex(['tail', url, '--table', 'events', '--lag', '1ms', '--to-head']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(jsonLines(all.stdout).length, 4);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const r = await reflex([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
    }
  });

  it('a mistyped option gets "did you mean", even when a required option is missing too', async () => {
    for (const [args, hint] of [
      [['lag', url, '--event', 'events'], /unknown option '--event' \(Did you mean --events\?\)/],
      [['lag', url, '--events', 'events', '--cursor-db', url], /Did you mean --cursors-db\?/],
      [['tail', url, '--tabel', 'events'], /Did you mean --table\?/],
      [['serve', url, '--tabel', 'events'], /Did you mean --table\?/],
    ] as const) {
      const r = await reflex(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, hint);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
    // A missing required option alone still says so.
    const r = await reflex(['lag', url]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /required option '--events <table>' not specified/);
  });
});
