import type { Command } from 'commander';
import { newCursorsTable, newErrorsTable, newEventsTable } from '../../rsql/index.js';
import { type CliContext, examples } from '../context.js';
import { checkIdentifier, openDb } from '../db.js';
import { runtimeError, usageError } from '../errors.js';
import { parseDbUrl } from '../url.js';

interface Flags {
  events: string[];
  cursors: string;
  errors: string | false;
  cursorType: string;
  metadataColumn?: string;
  traceColumn?: string;
}

/** `reflex migrate`: create the events, cursors and errors tables (idempotent). */
export function registerMigrate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('migrate')
    .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file (created when missing)')
    .description(
      'create the events, cursors and consumer errors tables when missing, and convert cursors and errors tables of older versions to exact (byte-wise) names (idempotent)',
    )
    .option('--events <table...>', 'events tables to create', ['events'])
    .option('--metadata-column <name>', 'give the events tables a metadata column')
    .option('--trace-column <name>', 'give the events tables a trace column')
    .option('--cursors <table>', 'the cursors table', 'cursors')
    .option(
      '--cursor-type <type>',
      'int or string: the cursor column of a new cursors table (and what an existing one is converted as)',
      'int',
    )
    .option('--errors <table>', 'the consumer errors table (and <table>_events)', 'consumer_errors')
    .option('--no-errors', 'no consumer errors table')
    .action(async (url: string, flags: Flags) => {
      const source = parseDbUrl(url);
      const events = flags.events
        .flatMap((e) => e.split(','))
        .map((e) => checkIdentifier(e, '--events'));
      const cursors = checkIdentifier(flags.cursors, '--cursors');
      const errors = flags.errors === false ? undefined : checkIdentifier(flags.errors, '--errors');
      const cursorType = flags.cursorType;
      if (cursorType !== 'int' && cursorType !== 'string') {
        throw usageError(`--cursor-type must be int or string, got ${String(cursorType)}`);
      }
      const columns = {
        ...(flags.metadataColumn === undefined
          ? {}
          : { metadataColumn: checkIdentifier(flags.metadataColumn, '--metadata-column') }),
        ...(flags.traceColumn === undefined
          ? {}
          : { traceColumn: checkIdentifier(flags.traceColumn, '--trace-column') }),
      };
      const db = await openDb(source, { create: true });
      const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
        } catch (err) {
          throw runtimeError(`creating ${what} on ${db.display}`, err);
        }
        ctx.stderr.write(`${what}: ok\n`);
      };
      try {
        for (const name of events) {
          const table = newEventsTable(name, columns);
          await step(`events table ${name}`, () => table.createTable(db.handle));
          await table.close();
        }
        await step(`cursors table ${cursors}`, () =>
          newCursorsTable(cursors, { cursorType }).createTable(db.handle),
        );
        if (errors !== undefined) {
          const table = newErrorsTable({ table: errors });
          await step(`errors table ${errors} (+ ${table.events.name})`, () =>
            table.createTable(db.handle),
          );
          await table.events.close();
        }
      } finally {
        await db.close();
      }
    });
  examples(
    cmd,
    'reflex migrate sqlite:app.db --events user_events order_events',
    'reflex migrate mysql://root@127.0.0.1/app --events user_events --metadata-column metadata --no-errors',
  );
}
