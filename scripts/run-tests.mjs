#!/usr/bin/env node
// Runs every compiled test file under dist/test with node:test. Node 20's runner takes no globs,
// so the files are listed here. Arguments filter by path substring: `npm test -- rsql grpc`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = 'dist/test';
const skipDirs = new Set(['support']);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!skipDirs.has(name)) out.push(...collect(path));
    } else if (name.endsWith('.test.js')) {
      out.push(path);
    }
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(root).filter(
  (f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)),
);
if (files.length === 0) {
  console.error(`no test files under ${root} match ${filters.join(' ')}`);
  process.exit(1);
}
const concurrency = process.env.REFLEX_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
