import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { examples } from '../context.js';
import { runDemo } from '../demo/run-demo.js';
import { parseDuration, parsePositiveInt } from '../duration.js';
import { runtimeError, usageError } from '../errors.js';

interface DemoFlags {
  duration: string;
  forever?: boolean;
  rate: string;
  db: string;
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
    .option('--db <url>', 'where the events live: memory', 'memory')
    .action(async (flags: DemoFlags) => {
      const durationMs =
        flags.forever === true ? undefined : parseDuration(flags.duration, '--duration');
      const rate = parsePositiveInt(flags.rate, '--rate');
      if (flags.db !== 'memory') {
        throw usageError(
          `--db ${flags.db}: only the in-memory log is available in this build (--db memory)`,
        );
      }
      const { openMemoryWorld } = await import('../demo/memory-world.js');
      const world = await openMemoryWorld();
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
  examples(cmd, 'reflex demo', 'reflex demo --duration 2s --rate 500', 'reflex demo --forever');
}
