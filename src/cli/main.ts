#!/usr/bin/env node
import { runCli } from './program.js';

// Ctrl-C / SIGTERM: the first one asks the command to stop cleanly; a second one exits at once.
const controller = new AbortController();
let interrupted = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  interrupted++;
  if (interrupted > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
  controller.abort(new DOMException(`interrupted by ${signal}`, 'AbortError'));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `reflex tail … | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
