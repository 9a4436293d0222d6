import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The ```ts runnable blocks of the README and docs/, with where they come from. */
function runnableBlocks(): { where: string; code: string }[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const out: { where: string; code: string }[] = [];
  for (const file of files) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]?.trim() !== '```ts runnable') continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]?.trim() !== '```') end++;
      out.push({ where: `${file}:${start}`, code: lines.slice(start, end).join('\n') });
      i = end;
    }
  }
  return out;
}

function runNode(
  file: string,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the docs’ runnable code blocks', () => {
  // Compiled next to the package (under dist/, gitignored) so `reflex-events/…` resolves to this
  // package by self-reference and the drivers from its node_modules; run in an empty directory.
  const out = join(root, 'dist', `doc-snippets-${process.pid}`);
  const cwd = mkdtempSync(join(tmpdir(), 'reflex-docs-'));
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  const blocks = runnableBlocks();
  it('there are runnable blocks (README and docs/sql-backends.md)', () => {
    assert.ok(
      blocks.some((b) => b.where.startsWith('README.md')),
      'README',
    );
    assert.ok(
      blocks.some((b) => b.where.startsWith('docs/sql-backends.md')),
      'sql-backends',
    );
  });

  for (const [n, block] of blocks.entries()) {
    it(`${block.where} type-checks, runs and exits 0 without errors`, async () => {
      mkdirSync(out, { recursive: true });
      const source = join(out, `block-${n}.mts`);
      writeFileSync(source, block.code);
      // Type-checked against the package's own declarations, as a user's project would be.
      const program = ts.createProgram([source], {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2023,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
      });
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      assert.deepEqual(diagnostics, [], block.where);
      const js = ts.transpileModule(block.code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
      }).outputText;
      const file = join(out, `block-${n}.mjs`);
      writeFileSync(file, js);
      const r = await runNode(file, cwd);
      assert.equal(r.code, 0, `${block.where}\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.stderr, '', block.where);
      assert.notEqual(r.stdout, '', `${block.where} printed nothing`);
    });
  }
});
