import { Command, CommanderError } from 'commander';
import { registerCursors } from './commands/cursors.js';
import { registerDemo } from './commands/demo.js';
import { registerLag } from './commands/lag.js';
import { registerMigrate } from './commands/migrate.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerTail } from './commands/tail.js';
import type { CliContext } from './context.js';
import { CliError, debugDetails, describeError, ExitCode } from './errors.js';

/** Builds the `reflex` command with every subcommand. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command()
    .name('reflex')
    .description('reflex-events: event notification streams with persisted cursors')
    .option('--debug', 'print the full error (stack and causes) when a command fails')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  registerDemo(program, ctx);
  registerTail(program, ctx);
  registerServe(program, ctx);
  registerCursors(program, ctx);
  registerLag(program, ctx);
  registerStatus(program, ctx);
  registerMigrate(program, ctx);
  program.addHelpText(
    'after',
    '\nExamples:\n  $ reflex demo\n  $ reflex tail sqlite:app.db --table user_events\n  $ reflex <command> --help\n',
  );
  return program;
}

/** The full name of a command, e.g. `reflex cursors set`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Runs the CLI on `argv` (without node and the script) and returns the exit code: 0, 1 for a
 * failure at run time, 2 for a bad command line. Errors are one line on stderr (`reflex: …`),
 * with the stack and causes only under `--debug`.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  let current: Command = program;
  const setup = (cmd: Command): void => {
    cmd.exitOverride();
    // Commander's own error text is replaced by our one line (below).
    cmd.configureOutput({ outputError: () => {} });
    cmd.hook('preAction', (_this, actionCmd) => {
      current = actionCmd;
    });
    for (const sub of cmd.commands) setup(sub);
  };
  setup(program);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        // Help asked for: 0; help shown because a subcommand is missing: a usage error.
        return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      }
      const message = err.message.replace(/^error: /, '');
      const path = commandFor(program, argv);
      ctx.stderr.write(`${path}: ${message} (see '${path} --help')\n`);
      return ExitCode.usage;
    }
    const path = commandPath(current);
    if (err instanceof CliError && err.exitCode === ExitCode.usage) {
      ctx.stderr.write(`${path}: ${err.message} (see '${path} --help')\n`);
    } else {
      ctx.stderr.write(`${path}: ${describeError(err)}\n`);
    }
    if (debug) ctx.stderr.write(`${debugDetails(err)}\n`);
    return err instanceof CliError ? err.exitCode : ExitCode.runtime;
  }
}

/** The command a command line names (for messages about it before its action ran). */
function commandFor(program: Command, argv: readonly string[]): string {
  let cmd = program;
  for (const arg of argv) {
    if (arg.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    cmd = sub;
  }
  return commandPath(cmd);
}
