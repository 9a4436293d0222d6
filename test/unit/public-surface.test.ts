// The public face of every subpath, pinned: the sorted list of names each exports (values and
// types) is compared with test/public-surface.json, so a change to the public API is deliberate.
// After a deliberate change: UPDATE_PUBLIC_SURFACE=1 node --test dist/test/unit/public-surface.test.js
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const snapshotPath = resolve(repo, 'test/public-surface.json');

interface PackageJson {
  readonly exports: Readonly<Record<string, { readonly default?: string } | string>>;
}

/** Subpath → its source index.ts, from package.json's exports map. */
function entries(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(resolve(repo, 'package.json'), 'utf8')) as PackageJson;
  const out = new Map<string, string>();
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    if (file === undefined || !file.endsWith('.js')) continue;
    const source = file.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
    out.set(subpath, resolve(repo, source));
  }
  return out;
}

function surface(): Record<string, string[]> {
  const files = entries();
  const program = ts.createProgram([...files.values()], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const out: Record<string, string[]> = {};
  for (const [subpath, file] of files) {
    const source = program.getSourceFile(file);
    assert.ok(source !== undefined, `${file} is not in the program`);
    const symbol = checker.getSymbolAtLocation(source);
    assert.ok(symbol !== undefined, `${file} is not a module`);
    out[subpath] = checker
      .getExportsOfModule(symbol)
      .map((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        const value = (target.flags & ts.SymbolFlags.Value) !== 0;
        return `${s.getName()}${value ? '' : ' (type)'}`;
      })
      .sort();
  }
  return out;
}

it('the exports of every subpath match the checked-in snapshot', () => {
  const now = surface();
  if (process.env.UPDATE_PUBLIC_SURFACE === '1') {
    writeFileSync(snapshotPath, `${JSON.stringify(now, null, 2)}\n`);
  }
  const pinned = JSON.parse(readFileSync(snapshotPath, 'utf8')) as Record<string, string[]>;
  assert.deepEqual(
    now,
    pinned,
    'the public surface changed: if on purpose, run with UPDATE_PUBLIC_SURFACE=1 and commit test/public-surface.json',
  );
});
