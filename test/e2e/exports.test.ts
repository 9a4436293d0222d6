import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

interface PackageJson {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;
const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');

// Heavy or optional dependencies, and the subpaths allowed to load each.
const heavy: Record<string, readonly string[]> = {
  'prom-client': [],
  '@opentelemetry/api': [],
  '@grpc/grpc-js': ['./grpc', './cli'],
  pg: [],
  mysql2: [],
  'better-sqlite3': [],
  '@aws-sdk/client-s3': [],
  nats: [],
  kysely: [],
  knex: [],
  'drizzle-orm': [],
  typeorm: [],
};

describe('package exports', () => {
  for (const subpath of subpaths) {
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    it(`${specifier} resolves through the exports map, with types, and loads no optional dependency`, () => {
      const entry = pkg.exports[subpath];
      assert.ok(typeof entry === 'object' && entry.types.endsWith('.d.ts'));
      const script = `
        import { createRequire } from 'node:module';
        const m = await import(${JSON.stringify(specifier)});
        const require = createRequire(import.meta.url);
        const loaded = Object.keys(require.cache);
        console.log(JSON.stringify({ exports: Object.keys(m).length, loaded }));
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const { exports, loaded } = JSON.parse(r.stdout) as { exports: number; loaded: string[] };
      assert.ok(exports > 0, `${specifier} exports something`);
      for (const [dep, allowed] of Object.entries(heavy)) {
        if (allowed.includes(subpath)) continue;
        const hit = loaded.find((p) => p.includes(`/node_modules/${dep}/`));
        assert.equal(hit, undefined, `${specifier} must not load ${dep}`);
      }
    });
  }
});

describe('optional peers load only when used', () => {
  it('reflex-events/nats loads the nats package at the first connection, not at import', () => {
    const script = `
      import { createRequire } from 'node:module';
      import { createServer } from 'node:net';
      const require = createRequire(import.meta.url);
      const loaded = () => Object.keys(require.cache).some((p) => p.includes('/node_modules/nats/'));
      const m = await import('reflex-events/nats');
      const js = m.newJetStreamClient({ servers: 'nats://127.0.0.1:1', timeoutMs: 500 });
      const stream = js.source('ORDERS');
      const before = loaded();
      const code = await stream('').then(() => 'opened', (e) => e.code);
      await js.close();
      console.log(JSON.stringify({ before, after: loaded(), code }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { before: boolean; after: boolean; code: string };
    assert.deepEqual(out, { before: false, after: true, code: 'ERR_REFLEX_UNAVAILABLE' });
  });
});
