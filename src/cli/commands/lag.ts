import type { Command } from 'commander';
import { epochMsExpr, textExpr } from '../../rsql/internal.js';
import { type CliContext, examples } from '../context.js';
import { CursorsSql } from '../cursors-sql.js';
import { checkIdentifier, type Db, openDb, toDate } from '../db.js';
import { CliError, runtimeError } from '../errors.js';
import { Output } from '../output.js';
import { parseDbUrl } from '../url.js';
import { cursorsNames, cursorsTableOptions } from './shared.js';

type Flags = Record<string, unknown> & {
  events: string;
  cursors: string;
  eventIdField: string;
  eventTimeField: string;
  cursorsDb?: string;
  consumer?: string[];
  json?: boolean;
};

/** One consumer's lag behind an events table. */
export interface LagRow {
  readonly consumer: string;
  readonly cursor: string;
  readonly head: string;
  /** Events after the cursor. */
  readonly lagEvents: number;
  /** Age of the oldest event not consumed yet, in seconds (0 when caught up). */
  readonly lagSeconds: number;
}

/** The lag queries on an events table known only by its id and time columns. */
class EventsLagSql {
  readonly #db: Db;
  readonly #t: string;
  readonly #id: string;
  readonly #timeMs: string;

  constructor(db: Db, events: string, idField: string, timeField: string) {
    this.#db = db;
    this.#t = db.quote(events);
    this.#id = db.quote(idField);
    this.#timeMs = epochMsExpr(db.dialect, db.quote(timeField));
  }

  /** The greatest id as text ('' when the table is empty). */
  async head(): Promise<string> {
    const sql = `SELECT ${textExpr(this.#db.dialect, `MAX(${this.#id})`)} FROM ${this.#t}`;
    const h = (await this.#db.query(sql))[0]?.[0];
    return h === null || h === undefined ? '' : String(h);
  }

  /** How far behind the head a cursor is: events after it, and the age of the first one. */
  async behind(cursor: string, now: number): Promise<{ lagEvents: number; lagSeconds: number }> {
    const after = cursor === '' ? 0 : cursor;
    const [t, id] = [this.#t, this.#id];
    const count = (await this.#db.query(`SELECT COUNT(*) FROM ${t} WHERE ${id} > ?`, [after]))[0];
    const oldest = (
      await this.#db.query(
        `SELECT ${this.#timeMs} FROM ${t} WHERE ${id} > ? ORDER BY ${id} LIMIT 1`,
        [after],
      )
    )[0];
    const ts = toDate(oldest?.[0]);
    return {
      lagEvents: Number(count?.[0] ?? 0),
      lagSeconds: ts === undefined ? 0 : Math.max(0, Math.round((now - ts.getTime()) / 100) / 10),
    };
  }
}

/** One row per listed consumer (only the `wanted` ones when given; each must have a cursor). */
async function lagRows(
  cursorsSql: CursorsSql,
  lagSql: EventsLagSql,
  wanted: ReadonlySet<string> | undefined,
  cursorsTable: string,
): Promise<LagRow[]> {
  const head = await lagSql.head();
  const now = Date.now();
  const listed = await cursorsSql.list();
  const unknown = [...(wanted ?? [])].filter((w) => !listed.some((c) => c.consumer === w));
  if (unknown.length > 0) {
    throw runtimeError(`no cursor in ${cursorsTable} for ${unknown.join(', ')}`);
  }
  const rows: LagRow[] = [];
  for (const c of listed) {
    if (wanted !== undefined && !wanted.has(c.consumer)) continue;
    rows.push({
      consumer: c.consumer,
      cursor: c.cursor,
      head,
      ...(await lagSql.behind(c.cursor, now)),
    });
  }
  return rows;
}

/** `reflex lag`: per consumer, its cursor, the head, and how far behind it is. */
export function registerLag(program: Command, ctx: CliContext): void {
  const cmd = cursorsTableOptions(
    program
      .command('lag')
      .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file')
      .requiredOption('--events <table>', 'the events table the consumers read')
      .option('--event-id-field <name>', 'its id column', 'id')
      .option('--event-time-field <name>', 'its timestamp column', 'timestamp'),
    '--cursors',
  )
    .option(
      '--cursors-db <url>',
      'the database of the cursors table, when the consumers keep their cursors elsewhere (a remote service)',
    )
    .option('--consumer <name...>', 'only these consumers')
    .option('--json', 'JSON lines even on a terminal')
    .description(
      'per consumer: its cursor, the head of the events table, the lag in events and in seconds (age of the oldest event not consumed yet)',
    )
    .action(async (url: string, flags: Flags) => {
      const source = parseDbUrl(url);
      const names = cursorsNames(flags, flags.cursors);
      const events = checkIdentifier(flags.events, '--events');
      const idField = checkIdentifier(flags.eventIdField, '--event-id-field');
      const timeField = checkIdentifier(flags.eventTimeField, '--event-time-field');
      const cursorsSource = flags.cursorsDb === undefined ? undefined : parseDbUrl(flags.cursorsDb);
      const db = await openDb(source);
      let cursorsDb: Db | undefined;
      try {
        cursorsDb = cursorsSource === undefined ? undefined : await openDb(cursorsSource);
        const cursorsSql = new CursorsSql(cursorsDb ?? db, names);
        const lagSql = new EventsLagSql(db, events, idField, timeField);
        const wanted =
          flags.consumer === undefined
            ? undefined
            : new Set(flags.consumer.flatMap((c) => c.split(',')));
        let rows: LagRow[];
        try {
          rows = await lagRows(cursorsSql, lagSql, wanted, flags.cursors);
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw runtimeError(`reading ${flags.events} and ${flags.cursors} on ${db.display}`, err);
        }
        new Output({ stdout: ctx.stdout, json: flags.json === true }).table(
          [
            { key: 'consumer', header: 'CONSUMER' },
            { key: 'cursor', header: 'CURSOR', right: true },
            { key: 'head', header: 'HEAD', right: true },
            { key: 'lagEvents', header: 'LAG EVENTS', right: true },
            { key: 'lagSeconds', header: 'LAG SECONDS', right: true },
          ],
          rows,
        );
      } finally {
        await cursorsDb?.close();
        await db.close();
      }
    });
  examples(
    cmd,
    'reflex lag sqlite:.reflex-demo/users.db --events user_events --cursors cursors',
    'reflex lag mysql://root@127.0.0.1/app --events user_events --consumer mailer --json',
    'reflex lag sqlite:.reflex-demo/users.db --events user_events --cursors-db sqlite:.reflex-demo/mailer.db',
  );
}
