import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

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
  '@grpc/grpc-js': [],
  '@redis/client': [],
  'playwright-core': [],
  pg: [],
  mysql2: [],
  'better-sqlite3': [],
  '@aws-sdk/client-s3': [],
  nats: [],
  kysely: [],
  knex: [],
  'drizzle-orm': [],
  typeorm: [],
  '@prisma/client': [],
};

// Every module a child loads: ESM resolutions through a resolve hook (a static import leaves no
// trace in require.cache) and CommonJS loads through require.cache (Node 20's hooks miss them).
const hookDir = mkdtempSync(join(tmpdir(), 'reflex-exports-'));
after(() => rmSync(hookDir, { recursive: true, force: true }));
const hookFile = join(hookDir, 'hook.mjs');
writeFileSync(
  hookFile,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.REFLEX_RESOLVE_LOG, r.url + '\\n');
  return r;
}
`,
);
const registerFile = join(hookDir, 'register.mjs');
writeFileSync(
  registerFile,
  `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hookFile).href)});
`,
);

/** Runs `script` (ESM) in a child; returns its stdout and every module path it loaded. */
function loadsOf(script: string, name: string): { stdout: string; loaded: string[] } {
  const log = join(hookDir, `${name.replace(/[^a-z0-9]/gi, '_')}.log`);
  writeFileSync(log, '');
  const r = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(registerFile).href, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 20_000, env: { ...process.env, REFLEX_RESOLVE_LOG: log } },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const cjs = JSON.parse(lines.pop() ?? '[]') as string[];
  const esm = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return { stdout: lines.join('\n'), loaded: [...esm.map((u) => decodeURIComponent(u)), ...cjs] };
}

/** Appended to a child's script: prints the CommonJS modules it loaded, as the last line. */
const printRequireCache = `
  const { createRequire } = await import('node:module');
  console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
`;

describe('package exports', () => {
  for (const subpath of subpaths) {
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    it(`${specifier} resolves through the exports map, with types, and loads no optional dependency`, () => {
      const entry = pkg.exports[subpath];
      assert.ok(typeof entry === 'object' && entry.types.endsWith('.d.ts'));
      const script = `
        const m = await import(${JSON.stringify(specifier)});
        console.log(JSON.stringify({ exports: Object.keys(m).length }));
        ${printRequireCache}
      `;
      const { stdout, loaded } = loadsOf(script, specifier);
      const { exports } = JSON.parse(stdout) as { exports: number };
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
  it('the load recorder sees a static import of an ESM-only optional peer, which require.cache misses (so the checks above can fail)', () => {
    const dir = mkdtempSync(join(process.cwd(), 'dist', 'exports-probe-'));
    try {
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, "import 'kysely';\nexport const x = 1;\n");
      const script = `await import(${JSON.stringify(pathToFileURL(probe).href)}); ${printRequireCache}`;
      const { loaded } = loadsOf(script, 'probe');
      assert.ok(
        loaded.some((p) => p.includes('/node_modules/kysely/')),
        `recorded: ${loaded.join(', ')}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
