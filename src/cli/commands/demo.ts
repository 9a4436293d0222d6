import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { examples } from '../context.js';
import { runDemo } from '../demo/run-demo.js';
import type { DemoWorld } from '../demo/world.js';
import { parseDuration, parsePositiveInt } from '../duration.js';
import { runtimeError } from '../errors.js';
import { parseDbUrl } from '../url.js';

interface DemoFlags {
  duration: string;
  forever?: boolean;
  rate: string;
  db?: string;
  tablePrefix: string;
}

/** `reflex demo`: the whole flow in one process, with a live display and a checked summary. */
export function registerDemo(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('demo')
    .description(
      'run a users service writing events and two consumers (audit, mailer) streaming them with persisted cursors; live progress, then a checked summary',
    )
    .option('--duration <d>', 'how long to write events (500ms, 5s, 1m)', '5s')
    .option('--forever', 'write until Ctrl-C')
    .option('--rate <n>', 'events written per second', '200')
    .option(
      '--db <url>',
      'where the users service keeps its tables: mysql://…, postgres://…, sqlite:file, or memory (default: sqlite:.reflex-demo/users.db)',
    )
    .option(
      '--table-prefix <p>',
      "prefix of the demo's tables on a MySQL/PostgreSQL server (runs sharing a server with different prefixes do not meet)",
      'reflex_demo_',
    )
    .action(async (flags: DemoFlags) => {
      const durationMs =
        flags.forever === true ? undefined : parseDuration(flags.duration, '--duration');
      const rate = parsePositiveInt(flags.rate, '--rate');
      const source =
        flags.db === undefined || flags.db === 'memory' ? undefined : parseDbUrl(flags.db);
      let world: DemoWorld;
      if (flags.db === 'memory') {
        const { openMemoryWorld } = await import('../demo/memory-world.js');
        world = await openMemoryWorld();
      } else {
        const { openSqlWorld } = await import('../demo/sql-world.js');
        world = await openSqlWorld(source, process.cwd(), flags.tablePrefix);
      }
      try {
        const result = await runDemo(world, {
          out: ctx.stdout,
          durationMs,
          rate,
          signal: ctx.signal,
        });
        if (!result.ok) throw runtimeError('the demo found a problem (see the summary above)');
      } finally {
        await world.close();
      }
    });
  examples(
    cmd,
    'reflex demo',
    'reflex demo --duration 2s --rate 500',
    'reflex demo --forever',
    'reflex demo --db postgres://postgres@127.0.0.1:5432/test',
    'reflex cursors list sqlite:.reflex-demo/users.db   # after a run',
  );
}
