import type { Writable } from 'node:stream';
import type { Command } from 'commander';

/** What every command gets: where to print, and the signal of Ctrl-C / SIGTERM. */
export interface CliContext {
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean };
  /** Aborts on the first SIGINT or SIGTERM: commands stop cleanly and exit. */
  readonly signal: AbortSignal;
}

/** Adds an "Examples" section to a command's help. */
export function examples(cmd: Command, ...lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
