#!/usr/bin/env node
// `npm run demo`: compiles only when the sources are newer than the compiled CLI (a fresh clone,
// or after an edit), then runs `reflex demo` with the arguments given after `--`.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const entry = 'dist/src/cli/main.js';

/** The newest modification time (ms) of the files under `path`, or of `path` itself. */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

function builtAt() {
  try {
    return statSync(entry).mtimeMs;
  } catch {
    return -1;
  }
}

const sources = Math.max(newest('src'), newest('tsconfig.json'), newest('package.json'));
if (builtAt() < sources) {
  process.stderr.write('compiling (sources changed since the last build)…\n');
  // REFLEX_DEMO_COMPILER: another compiler script (the test of this script uses a stub).
  const tsc =
    process.env.REFLEX_DEMO_COMPILER ??
    createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const demo = spawn(process.execPath, [entry, 'demo', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C on a terminal reaches the demo itself (same process group), which stops cleanly and
// prints its summary: this process only waits for it. A SIGTERM sent to this process is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => demo.kill('SIGTERM'));
demo.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
