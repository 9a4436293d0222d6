import type { Command } from 'commander';
import { hasCode } from '../../core/index.js';
import { parseInt64 } from '../../core/internal.js';
import { newCursorsTable, RsqlErrorCode } from '../../rsql/index.js';
import { textExpr } from '../../rsql/internal.js';
import { type CliContext, examples } from '../context.js';
import { type CursorRow, CursorsSql, type CursorsTableNames } from '../cursors-sql.js';
import { checkIdentifier, type Db, openDb } from '../db.js';
import { runtimeError, usageError } from '../errors.js';
import { Output } from '../output.js';
import { escapeControl } from '../text.js';
import { parseDbUrl } from '../url.js';
import { cursorsNames, cursorsTableOptions } from './shared.js';

type Flags = Record<string, unknown> & { table: string; json?: boolean };

async function withCursors<T>(
  url: string,
  flags: Flags,
  fn: (sql: CursorsSql, db: Db, names: CursorsTableNames) => Promise<T>,
): Promise<T> {
  const source = parseDbUrl(url);
  const names = cursorsNames(flags, flags.table);
  const db = await openDb(source);
  try {
    const sql = new CursorsSql(db, names, flags.cursorType === 'int' ? 'int' : 'string');
    try {
      return await fn(sql, db, names);
    } catch (err) {
      if (err instanceof Error && err.name === 'CliError') throw err;
      throw runtimeError(`cursors table ${names.table} on ${db.display}`, err);
    }
  } finally {
    await db.close();
  }
}

const columns = [
  { key: 'consumer', header: 'CONSUMER' },
  { key: 'cursor', header: 'CURSOR', right: true },
  { key: 'updatedAt', header: 'UPDATED' },
] as const;

/** `reflex cursors list|get|set|reset`: read and move consumers' cursors in a cursors table. */
export function registerCursors(program: Command, ctx: CliContext): void {
  const cursors = program
    .command('cursors')
    .description('list, read, move or reset the cursors of a cursors table');
  examples(
    cursors,
    'reflex cursors list sqlite:app.db',
    'reflex cursors set mysql://root@127.0.0.1/app mailer 1200 --table cursors --events user_events',
  );
  registerList(cursors, ctx);
  registerGet(cursors, ctx);
  registerSet(cursors, ctx);
  registerReset(cursors, ctx);
}

/** `reflex cursors list`. */
function registerList(cursors: Command, ctx: CliContext): void {
  const list = cursorsTableOptions(
    cursors.command('list').argument('<db-url>', 'mysql://…, postgres://… or sqlite:file'),
  )
    .description('every consumer and its cursor')
    .option('--json', 'JSON lines even on a terminal')
    .action(async (url: string, flags: Flags) => {
      const rows = await withCursors(url, flags, (sql) => sql.list());
      new Output({ stdout: ctx.stdout, json: flags.json === true }).table(columns, rows);
    });
  examples(
    list,
    'reflex cursors list sqlite:.reflex-demo/users.db',
    'reflex cursors list postgres://postgres@127.0.0.1/app --json | jq .',
  );
}

/** `reflex cursors get`. */
function registerGet(cursors: Command, ctx: CliContext): void {
  const get = cursorsTableOptions(
    cursors
      .command('get')
      .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file')
      .argument('<consumer>', 'the consumer name'),
  )
    .description("a consumer's cursor (exit code 1 when it has none)")
    .option('--json', 'a JSON line even on a terminal')
    .action(async (url: string, consumer: string, flags: Flags) => {
      const row = await withCursors(url, flags, (sql) => sql.get(consumer));
      if (row === undefined)
        throw runtimeError(`no cursor for consumer ${JSON.stringify(consumer)}`);
      new Output({ stdout: ctx.stdout, json: flags.json === true }).record({ ...row });
    });
  examples(get, 'reflex cursors get sqlite:app.db mailer');
}

/** `reflex cursors set`. */
function registerSet(cursors: Command, ctx: CliContext): void {
  const set = cursorsTableOptions(
    cursors
      .command('set')
      .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file')
      .argument('<consumer>', 'the consumer name')
      .argument('<cursor>', 'the new cursor (an event id)'),
  )
    .description(
      "move a consumer's cursor (forward only, unless --force); the consumer must be stopped, or it overwrites it",
    )
    .option(
      '--events <table>',
      'the events table the consumer reads: an int cursor past its head is refused (needed for int cursors unless --force)',
    )
    .option('--event-id-field <name>', 'its id column', 'id')
    .option(
      '--force',
      'allow moving the cursor back (the consumer will see events again) or past the head, unchecked',
    )
    .option(
      '--cursor-type <type>',
      'int (event ids, compared as integers) or string (compared byte-wise)',
      'int',
    )
    .action(async (url: string, consumer: string, cursor: string, flags: Flags) => {
      const checked = checkSetFlags(cursor, flags);
      const before = await withCursors(url, flags, (sql, db, names) =>
        moveCursor(
          { sql, db, names, consumer, cursor, force: flags.force === true, ...checked },
          ctx,
        ),
      );
      ctx.stderr.write(
        `${escapeControl(`${consumer}: cursor ${before?.cursor ?? '(none)'} → ${cursor}`)}\n`,
      );
    });
  examples(
    set,
    'reflex cursors set sqlite:app.db mailer 1200 --events user_events',
    'reflex cursors set sqlite:app.db mailer 10 --force',
  );
}

/** `reflex cursors reset`. */
function registerReset(cursors: Command, ctx: CliContext): void {
  const reset = cursorsTableOptions(
    cursors
      .command('reset')
      .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file')
      .argument('<consumer>', 'the consumer name'),
  )
    .description("delete a consumer's cursor: its next run starts from the beginning")
    .action(async (url: string, consumer: string, flags: Flags) => {
      const before = await withCursors(url, flags, async (sql) => {
        const row = await sql.get(consumer);
        await sql.reset(consumer);
        return row;
      });
      ctx.stderr.write(
        `${escapeControl(before === undefined ? `${consumer}: had no cursor` : `${consumer}: cursor ${before.cursor} removed`)}\n`,
      );
    });
  examples(reset, 'reflex cursors reset sqlite:app.db mailer');
}

interface SetChecks {
  readonly cursorType: 'int' | 'string';
  readonly events: string | undefined;
  readonly eventIdField: string;
}

/** The flags of `cursors set`, checked before anything is opened or written. */
function checkSetFlags(cursor: string, flags: Flags): SetChecks {
  if (cursor === '') throw usageError('the cursor must not be empty (use reset)');
  const cursorType = flags.cursorType;
  if (cursorType !== 'int' && cursorType !== 'string') {
    throw usageError(`--cursor-type must be int or string, got ${String(cursorType)}`);
  }
  // Checked before anything is written, on both paths (--force writes as given).
  if (cursorType === 'int') {
    const n = parseInt64(cursor);
    if (n === undefined || n < 0n || String(n) !== cursor) {
      throw usageError(
        `the cursor must be a non-negative event id (canonical decimal), got ${JSON.stringify(cursor)}; pass --cursor-type string for string cursors`,
      );
    }
  }
  const events =
    flags.events === undefined ? undefined : checkIdentifier(String(flags.events), '--events');
  const eventIdField = checkIdentifier(String(flags.eventIdField), '--event-id-field');
  if (cursorType === 'int' && flags.force !== true && events === undefined) {
    throw usageError(
      'pass --events <table> so the cursor is checked against the head of the events table (or --force to set it unchecked)',
    );
  }
  return { cursorType, events, eventIdField };
}

interface Move extends SetChecks {
  readonly sql: CursorsSql;
  readonly db: Db;
  readonly names: CursorsTableNames;
  readonly consumer: string;
  readonly cursor: string;
  readonly force: boolean;
}

/** Moves the cursor (forward only unless forced) and returns the row it had. */
async function moveCursor(m: Move, ctx: CliContext): Promise<CursorRow | undefined> {
  const { sql, db, names, consumer, cursor, cursorType, events, eventIdField } = m;
  const table = newCursorsTable(names.table, {
    idColumn: names.idField,
    cursorColumn: names.cursorField,
    updatedAtColumn: names.timeField,
    cursorType,
  });
  // rsql's checks first, on both paths: a table whose collation would let this consumer's
  // row be another's, or a string cursor for an integer column, is refused before a write.
  await table.getCursor(db.handle, consumer);
  const row = await sql.get(consumer);
  if (cursorType === 'int' && events !== undefined) {
    const head = await headOf(db, events, eventIdField);
    if (BigInt(cursor) > head) {
      const past = `cursor ${cursor} is past the head ${head} of ${events}: the consumer would skip the events written until then`;
      if (!m.force) throw runtimeError(`${past}; pass --force to set it anyway`);
      ctx.stderr.write(`warning: ${past}\n`);
    }
  }
  if (m.force) {
    await sql.set(consumer, cursor);
    return row;
  }
  // Forward only, in one conditional statement (rsql's own, so a running consumer's write
  // cannot slip in between a check and the write); integer cursors compare as integers.
  try {
    await table.setCursor(db.handle, consumer, cursor);
  } catch (err) {
    if (hasCode(err, RsqlErrorCode.cursorNotIncreasing)) {
      throw runtimeError(
        `cursor ${cursor} is behind the stored ${row?.cursor ?? ''} of ${consumer}: pass --force to move it back`,
      );
    }
    throw err;
  }
  return row;
}

/** The highest event id of an events table (0 when empty). */
async function headOf(db: Db, events: string, idField: string): Promise<bigint> {
  const rows = await db.query(
    `SELECT ${textExpr(db.dialect, `MAX(${db.quote(idField)})`)} FROM ${db.quote(events)}`,
  );
  const h = rows[0]?.[0];
  return h === null || h === undefined ? 0n : BigInt(String(h));
}
