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
        const t = db.quote(events);
        const id = db.quote(idField);
        const time = db.quote(timeField);
        const timeExpr = epochMsExpr(db.dialect, time);
        const rows: LagRow[] = [];
        try {
          const h = (
            await db.query(`SELECT ${textExpr(db.dialect, `MAX(${id})`)} FROM ${t}`)
          )[0]?.[0];
          const head = h === null || h === undefined ? '' : String(h);
          const wanted =
            flags.consumer === undefined
              ? undefined
              : new Set(flags.consumer.flatMap((c) => c.split(',')));
          const now = Date.now();
          const listed = await cursorsSql.list();
          const unknown = [...(wanted ?? [])].filter((w) => !listed.some((c) => c.consumer === w));
          if (unknown.length > 0) {
            throw runtimeError(`no cursor in ${flags.cursors} for ${unknown.join(', ')}`);
          }
          for (const c of listed) {
            if (wanted !== undefined && !wanted.has(c.consumer)) continue;
            const after = c.cursor === '' ? 0 : c.cursor;
            const count = (await db.query(`SELECT COUNT(*) FROM ${t} WHERE ${id} > ?`, [after]))[0];
            const oldest = (
              await db.query(
                `SELECT ${timeExpr} FROM ${t} WHERE ${id} > ? ORDER BY ${id} LIMIT 1`,
                [after],
              )
            )[0];
            const ts = toDate(oldest?.[0]);
            rows.push({
              consumer: c.consumer,
              cursor: c.cursor,
              head,
              lagEvents: Number(count?.[0] ?? 0),
              lagSeconds:
                ts === undefined ? 0 : Math.max(0, Math.round((now - ts.getTime()) / 100) / 10),
            });
          }
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
