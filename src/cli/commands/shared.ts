import type { Command } from 'commander';
import type { CursorsTableNames } from '../cursors-sql.js';
import { checkIdentifier } from '../db.js';

/** Adds the cursors table flags to a command. */
export function cursorsTableOptions(cmd: Command, tableFlag = '--table'): Command {
  return cmd
    .option(`${tableFlag} <name>`, 'the cursors table', 'cursors')
    .option('--id-field <name>', 'its consumer name column', 'id')
    .option('--cursor-field <name>', 'its cursor column', 'last_event_id')
    .option('--time-field <name>', 'its update time column', 'updated_at');
}

/** The cursors table names from the flags (`table` is the value of the table flag). */
export function cursorsNames(flags: Record<string, unknown>, table: string): CursorsTableNames {
  // Checked before anything is opened: a bad name is a usage error, whatever the database.
  return {
    table: checkIdentifier(table, '--table'),
    idField: checkIdentifier(String(flags.idField), '--id-field'),
    cursorField: checkIdentifier(String(flags.cursorField), '--cursor-field'),
    timeField: checkIdentifier(String(flags.timeField), '--time-field'),
  };
}
