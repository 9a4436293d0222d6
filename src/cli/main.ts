#!/usr/bin/env node
import { Command } from 'commander';
import { runMemoryDemo } from './demo-memory.js';

const program = new Command()
  .name('reflex')
  .description('reflex-events: event notification streams with persisted cursors')
  .showHelpAfterError();

program
  .command('demo')
  .description('write events and consume them through run, printing the cursor as it advances')
  .option('--events <n>', 'how many events to write', '20')
  .action(async (opts: { events: string }) => {
    const n = Number(opts.events);
    if (!Number.isInteger(n) || n <= 0)
      program.error('--events must be a positive integer', { exitCode: 2 });
    await runMemoryDemo(n, (line) => process.stdout.write(`${line}\n`));
  });

await program.parseAsync();
