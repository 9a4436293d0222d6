// The package as a user installs it: `npm pack` (what `prepack` builds), installed from the
// tarball into a fresh app with no optional peer, imported from ESM and CommonJS, its bin run, and
// its declarations compiled in strict mode without skipLibCheck (NodeNext, Bundler, and a CommonJS
// .cts module under NodeNext).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve('.');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  name: string;
  scripts: Record<string, string>;
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const specifiers = Object.keys(pkg.exports)
  .filter((k) => k !== './package.json')
  .map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const limits = { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 };

describe('the packed package, installed in a fresh app', () => {
  let dir = '';
  let app = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reflex-pack-'));
    // dist/ is already built by `npm test`; the scripts are skipped so that packing does not
    // rebuild it under the running tests (what `prepack` does is checked below).
    await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
      ...limits,
      cwd: repo,
    });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    // Offline and with an empty cache of its own, so the result does not hang on what the machine's
    // npm cache happens to hold (`npm ci` caches tarballs, not the registry documents an install of
    // a range needs): the runtime dependencies come as tarballs packed from the repo's install.
    // No optional peer is installed.
    const deps = join(dir, 'deps');
    mkdirSync(deps);
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', deps], {
        ...limits,
        cwd: join(repo, 'node_modules', name),
      });
    }
    const depTarballs = readdirSync(deps).map((f) => join(deps, f));
    await run(
      npm,
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--legacy-peer-deps',
        join(dir, tarball),
        ...depTarballs,
      ],
      { ...limits, cwd: app, env: { ...process.env, npm_config_cache: join(dir, 'npm-cache') } },
    );
    // A TypeScript consumer has Node's types; nothing else.
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    symlinkSync(
      join(repo, 'node_modules', '@types', 'node'),
      join(app, 'node_modules', '@types', 'node'),
      'dir',
    );
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('prepack builds dist, and the tarball holds it', () => {
    assert.match(pkg.scripts.prepack ?? '', /npm run build/);
    const installed = join(app, 'node_modules', pkg.name);
    for (const dep of Object.keys(pkg.peerDependencies)) {
      assert.throws(
        () => readdirSync(join(app, 'node_modules', dep)),
        `optional peer ${dep} not installed`,
      );
    }
    assert.ok(readdirSync(join(installed, 'dist', 'src', 'cli')).includes('main.js'));
  });

  it('every subpath imports from ESM', async () => {
    const body = specifiers
      .map(
        (s, i) =>
          `const m${i} = await import(${JSON.stringify(s)}); if (Object.keys(m${i}).length === 0) throw new Error('empty ${s}');`,
      )
      .join('\n');
    writeFileSync(join(app, 'esm.mjs'), `${body}\nconsole.log('ok ${specifiers.length}');\n`);
    const { stdout } = await run(process.execPath, ['esm.mjs'], { ...limits, cwd: app });
    assert.equal(stdout.trim(), `ok ${specifiers.length}`);
  });

  it('every subpath loads with require from CommonJS (Node ≥ 20.19)', async () => {
    const body = specifiers
      .map(
        (s) =>
          `if (Object.keys(require(${JSON.stringify(s)})).length === 0) throw new Error('empty ${s}');`,
      )
      .join('\n');
    writeFileSync(join(app, 'cjs.cjs'), `${body}\nconsole.log('ok');\n`);
    const { stdout } = await run(process.execPath, ['cjs.cjs'], { ...limits, cwd: app });
    assert.equal(stdout.trim(), 'ok');
  });

  it('the reflex bin runs', async () => {
    const bin = join(app, 'node_modules', '.bin', 'reflex');
    const { stdout } = await run(bin, ['--help'], { ...limits, cwd: app });
    assert.match(stdout, /Usage: reflex/);
    assert.match(stdout, /tail/);
  });

  for (const [name, compilerOptions] of [
    ['NodeNext', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
    ['Bundler', { module: 'ESNext', moduleResolution: 'Bundler' }],
  ] as const) {
    it(`the declarations compile in a strict ${name} app without skipLibCheck or any optional peer`, async () => {
      const source = [
        ...specifiers.map((s, i) => `import * as m${i} from ${JSON.stringify(s)};`),
        `import { newEventsTable, type SqlExecutor } from '${pkg.name}/rsql';`,
        `const ex: SqlExecutor = { dialect: 'sqlite', query: async () => [], execute: async () => ({ affectedRows: 1 }) };`,
        `export const notify: Promise<() => void> = newEventsTable('events').insert(ex, 'id', 1);`,
        `export const all = [${specifiers.map((_, i) => `m${i}`).join(', ')}];`,
      ].join('\n');
      writeFileSync(join(app, `${name}.ts`), source);
      writeFileSync(
        join(app, `tsconfig.${name}.json`),
        JSON.stringify({
          compilerOptions: {
            ...compilerOptions,
            target: 'ES2022',
            strict: true,
            exactOptionalPropertyTypes: true,
            skipLibCheck: false,
            noEmit: true,
          },
          files: [`${name}.ts`],
        }),
      );
      const r = await run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], {
        ...limits,
        cwd: app,
      }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err), failed: true }));
      assert.ok(!('failed' in r), r.stdout);
    });
  }

  it('the declarations compile for a CommonJS TypeScript module (.cts, import = require) under NodeNext', async () => {
    const source = [
      ...specifiers.map((s, i) => `import m${i} = require(${JSON.stringify(s)});`),
      `import rsql = require('${pkg.name}/rsql');`,
      `const ex: rsql.SqlExecutor = { dialect: 'sqlite', query: async () => [], execute: async () => ({ affectedRows: 1 }) };`,
      `export const notify: Promise<() => void> = rsql.newEventsTable('events').insert(ex, 'id', 1);`,
      `export const all = [${specifiers.map((_, i) => `m${i}`).join(', ')}];`,
    ].join('\n');
    writeFileSync(join(app, 'cjs-consumer.cts'), source);
    writeFileSync(
      join(app, 'tsconfig.cjs.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['cjs-consumer.cts'],
      }),
    );
    const r = await run(process.execPath, [tsc, '-p', 'tsconfig.cjs.json'], {
      ...limits,
      cwd: app,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err), failed: true }));
    assert.ok(!('failed' in r), r.stdout);
  });
});
