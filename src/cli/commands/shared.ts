import type { Command } from 'commander';
import type { CursorsTableNames } from '../cursors-sql.js';

/** Flags naming a cursors table and its columns. */
export interface CursorsFlags {
  cursorsTable: string;
  idField: string;
  cursorField: string;
  timeField: string;
}

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
  return {
    table,
    idField: String(flags.idField),
    cursorField: String(flags.cursorField),
    timeField: String(flags.timeField),
  };
}
