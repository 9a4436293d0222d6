// The dependency rule of docs/architecture.md, checked on the sources: a package is used by its
// siblings only through its index.ts; src/internal/ is the shared layer under every package;
// core depends on no other package; and no runtime import cycle runs through two files.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The relative imports and re-exports of every source file, resolved to source paths. */
function imports(): Import[] {
  const out: Import[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/g;
  for (const file of sources(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(statement)) {
      const spec = m[3] as string;
      const to = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      out.push({ from: rel(file), to: rel(to), typeOnly: m[2] !== undefined });
    }
  }
  return out;
}

function rel(path: string): string {
  return relative(root, path).split(sep).join('/');
}

function packageOf(path: string): string {
  return path.split('/')[0] as string;
}

const all = imports();

describe('layers', () => {
  it('finds the imports it checks', () => {
    assert.ok(all.length > 200, `only ${all.length} imports found: the pattern broke`);
    assert.ok(all.some((i) => i.from === 'rsql/loader.ts' && i.to === 'core/index.ts'));
  });

  it('a package reaches a sibling only through its index.ts (or its internal.ts)', () => {
    const bad = all.filter((i) => {
      const from = packageOf(i.from);
      const to = packageOf(i.to);
      return (
        from !== to &&
        to !== 'internal' &&
        i.to !== `${to}/index.ts` &&
        // A package's entry for its siblings (not exported): rsql's dialects for the CLI and status.
        i.to !== `${to}/internal.ts`
      );
    });
    assert.deepEqual(
      bad.map((i) => `${i.from} → ${i.to}`),
      [],
    );
  });

  it("a package's internal.ts is not a public subpath", () => {
    const pkg = JSON.parse(readFileSync(resolve(root, '../package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const exported = JSON.stringify(pkg.exports);
    const entries = sources(root)
      .map(rel)
      .filter((f) => f.endsWith('/internal.ts'));
    assert.ok(entries.includes('rsql/internal.ts'));
    for (const f of entries) {
      assert.ok(!exported.includes(f.replace(/\.ts$/, '.js')), `${f} is exported`);
    }
  });

  it('core depends on no other package; internal on no package but core', () => {
    const bad = all.filter((i) => {
      const from = packageOf(i.from);
      const to = packageOf(i.to);
      if (from === 'core') return to !== 'core' && to !== 'internal';
      if (from === 'internal') return to !== 'internal' && to !== 'core';
      return false;
    });
    assert.deepEqual(
      bad.map((i) => `${i.from} → ${i.to}`),
      [],
    );
  });

  it('no runtime import cycle', () => {
    const edges = new Map<string, string[]>();
    for (const i of all) {
      if (i.typeOnly) continue;
      const list = edges.get(i.from) ?? [];
      list.push(i.to);
      edges.set(i.from, list);
    }
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      const s = state.get(file);
      if (s === 'done') return;
      if (s === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of edges.keys()) visit(file, []);
    assert.deepEqual(cycles, []);
  });
});
