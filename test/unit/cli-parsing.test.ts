import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseTypes } from '../../src/cli/commands/tail.js';
import { toDate } from '../../src/cli/db.js';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { CliError, describeError, ExitCode } from '../../src/cli/errors.js';
import { Output } from '../../src/cli/output.js';
import { parseTableSpecs } from '../../src/cli/serve/config.js';
import { parseDbUrl, parseSource, redact } from '../../src/cli/url.js';
import { ReflexError } from '../../src/core/index.js';

function usage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CliError);
    assert.equal(err.exitCode, ExitCode.usage);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('cli: sources', () => {
  it('database URLs of every dialect', () => {
    assert.deepEqual(parseSource('mysql://root:pw@127.0.0.1:3306/test'), {
      kind: 'mysql',
      url: 'mysql://root:pw@127.0.0.1:3306/test',
      display: 'mysql://root:***@127.0.0.1:3306/test',
    });
    assert.equal(parseSource('mariadb://root@db/app').kind, 'mysql');
    assert.equal(parseDbUrl('mariadb://root@db/app').display, 'mysql://root@db/app');
    assert.equal(parseSource('postgresql://u@h/db').kind, 'postgres');
    assert.deepEqual(parseSource('sqlite:data/app.db'), {
      kind: 'sqlite',
      path: 'data/app.db',
      display: 'sqlite:data/app.db',
    });
    assert.equal(
      parseDbUrl('sqlite:///tmp/x.db').kind === 'sqlite' &&
        parseDbUrl('sqlite:///tmp/x.db').display,
      'sqlite:/tmp/x.db',
    );
  });

  it('gRPC addresses', () => {
    assert.deepEqual(parseSource('127.0.0.1:9000'), {
      kind: 'grpc',
      address: '127.0.0.1:9000',
      tls: false,
      display: '127.0.0.1:9000',
    });
    assert.deepEqual(parseSource('grpcs://events.internal:443'), {
      kind: 'grpc',
      address: 'events.internal:443',
      tls: true,
      display: 'grpcs://events.internal:443',
    });
    assert.equal(parseSource('[::1]:9000').kind, 'grpc');
  });

  it('anything else is a usage error naming the accepted forms', () => {
    usage(() => parseSource('ftp://x/y'), /expected mysql:\/\/.*host:port/);
    usage(() => parseSource('localhost'), /not a database URL or gRPC address/);
    usage(() => parseSource('host:99999'), /not a database URL or gRPC address/);
    usage(() => parseDbUrl('127.0.0.1:9000'), /not a database URL/);
    usage(() => parseDbUrl('sqlite:'), /without a file/);
    usage(
      () => parseDbUrl('mysql://u:secret@/db'),
      /malformed mysql URL: "mysql:\/\/u:\*\*\*@\/db"/,
    );
  });

  it('redacts passwords', () => {
    assert.equal(redact('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(redact('not a url //u:secret@h'), 'not a url //u:***@h');
  });
});

describe('cli: values', () => {
  it('durations', () => {
    assert.equal(parseDuration('500ms', '--x'), 500);
    assert.equal(parseDuration('2s', '--x'), 2000);
    assert.equal(parseDuration('1.5m', '--x'), 90_000);
    assert.equal(parseDuration('1h', '--x'), 3_600_000);
    assert.equal(parseDuration('3', '--x'), 3000);
    usage(() => parseDuration('-1s', '--lag'), /--lag must be a duration/);
    usage(() => parseDuration('soon', '--duration'), /--duration must be a duration/);
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(2500), '2.5s');
    assert.equal(formatDuration(185_000), '3m05s');
  });

  it('types and served tables', () => {
    assert.deepEqual([...parseTypes('1, 2,-3')], [1, 2, -3]);
    usage(() => parseTypes('1,x'), /--types must be a comma-separated list/);
    assert.deepEqual(parseTableSpecs(['a', 'b=shop.B/Stream']), [
      { table: 'a', method: 'reflexpb.Reflex/Stream' },
      { table: 'b', method: 'shop.B/Stream' },
    ]);
    usage(() => parseTableSpecs(['a', 'b']), /two tables served as reflexpb\.Reflex\/Stream/);
    usage(() => parseTableSpecs(['a;b']), /--table must be a plain SQL name/);
  });

  it('timestamps as the drivers return them', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    assert.equal(toDate(new Date(t))?.getTime(), t);
    assert.equal(toDate(t)?.getTime(), t, 'ms (SQLite INTEGER)');
    assert.equal(toDate('1767323045.678')?.getTime(), t, 'seconds as text (UNIX_TIMESTAMP)');
    assert.equal(toDate('2026-01-02 03:04:05.678')?.getTime(), t, 'SQL text is UTC');
    assert.equal(toDate('nonsense'), undefined);
  });
});

describe('cli: output and errors', () => {
  function sink(isTTY: boolean): { out: Writable & { isTTY: boolean }; text: () => string } {
    let text = '';
    const out = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          text += String(chunk);
          cb();
        },
      }),
      { isTTY },
    );
    return { out, text: () => text };
  }

  it('a table on a terminal, JSON lines when piped or with --json', () => {
    const cols = [
      { key: 'consumer', header: 'CONSUMER' },
      { key: 'cursor', header: 'CURSOR', right: true },
    ];
    const rows = [
      { consumer: 'audit', cursor: '1200' },
      { consumer: 'mailer', cursor: '7' },
    ];
    const tty = sink(true);
    new Output({ stdout: tty.out }).table(cols, rows);
    assert.equal(tty.text(), 'CONSUMER  CURSOR\naudit       1200\nmailer         7\n');
    const piped = sink(false);
    new Output({ stdout: piped.out }).table(cols, rows);
    assert.equal(
      piped.text(),
      '{"consumer":"audit","cursor":"1200"}\n{"consumer":"mailer","cursor":"7"}\n',
    );
    const forced = sink(true);
    new Output({ stdout: forced.out, json: true }).table(cols, [
      { at: new Date(0), bytes: new Uint8Array([1, 2]) },
    ]);
    assert.equal(forced.text(), '{"at":"1970-01-01T00:00:00.000Z","bytes":"AQI="}\n');
  });

  it('one line for an error, with its code and its cause', () => {
    const cause = new ReflexError('ERR_REFLEX_UNAVAILABLE', 'no connection\nsecond line');
    assert.equal(
      describeError(new CliError(1, 'streaming from x', cause)),
      'streaming from x: no connection [ERR_REFLEX_UNAVAILABLE]',
    );
    assert.equal(
      describeError(
        new AggregateError([
          new Error('connect ECONNREFUSED ::1:3306'),
          new Error('connect ECONNREFUSED 127.0.0.1:3306'),
        ]),
      ),
      'connect ECONNREFUSED ::1:3306; connect ECONNREFUSED 127.0.0.1:3306',
    );
  });
});
