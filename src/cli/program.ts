import { createRequire } from 'node:module';
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
import { escapeControl } from './text.js';

/** Builds the `reflex` command with every subcommand. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command()
    .name('reflex')
    .description('reflex-events: event notification streams with persisted cursors')
    .version(packageVersion(), '-V, --version', 'print the version of reflex-events')
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
  } catch (thrown) {
    // Commander checks required options before unknown ones: `lag --event x` would say
    // "required option '--events'" without the "did you mean" an unknown option gets.
    const err =
      thrown instanceof CommanderError && thrown.code === 'commander.missingMandatoryOptionValue'
        ? (unknownOptionOf(program, argv) ?? thrown)
        : thrown;
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        // Help asked for: 0; help shown because a subcommand is missing: a usage error.
        return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      }
      const message = err.message.replace(/^error: /, '').replace(/\n/g, ' ');
      const path = commandFor(program, argv);
      ctx.stderr.write(`${path}: ${escapeControl(message)} (see '${path} --help')\n`);
      return ExitCode.usage;
    }
    const path = commandPath(current);
    if (err instanceof CliError && err.exitCode === ExitCode.usage) {
      ctx.stderr.write(`${path}: ${escapeControl(err.message)} (see '${path} --help')\n`);
    } else {
      // Messages carry names and errors from the database or a peer: one safe line.
      ctx.stderr.write(`${path}: ${escapeControl(describeError(err))}\n`);
    }
    if (debug) ctx.stderr.write(`${debugDetails(err)}\n`);
    return err instanceof CliError ? err.exitCode : ExitCode.runtime;
  }
}

/** The command a command line names (for messages about it before its action ran). */
function commandFor(program: Command, argv: readonly string[]): string {
  return commandPath(commandOf(program, argv));
}

function commandOf(program: Command, argv: readonly string[]): Command {
  let cmd = program;
  for (const arg of argv) {
    if (arg.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    cmd = sub;
  }
  return cmd;
}

/** Commander's own "unknown option … (Did you mean …?)" error for the first unknown option of `argv`. */
function unknownOptionOf(program: Command, argv: readonly string[]): CommanderError | undefined {
  const cmd = commandOf(program, argv) as Command & { unknownOption?: (flag: string) => void };
  for (const arg of argv) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const flag = arg.split('=', 1)[0] as string;
    if (flag === '--help' || flag === '--version') continue;
    let known = false;
    for (let c: Command | null = cmd; c !== null && !known; c = c.parent) {
      known = c.options.some((o) => o.long === flag || o.short === flag);
    }
    if (known) continue;
    try {
      cmd.unknownOption?.(flag);
    } catch (e) {
      if (e instanceof CommanderError) return e;
    }
    return undefined;
  }
  return undefined;
}

/** The version of the installed package (dist/src/cli → the package root). */
function packageVersion(): string {
  const pkg = createRequire(import.meta.url)('../../../package.json') as { version?: unknown };
  return String(pkg.version);
}
