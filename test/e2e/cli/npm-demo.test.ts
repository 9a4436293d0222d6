import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../../scripts/demo.mjs', import.meta.url));

function runScript(
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
      reject(new Error(`scripts/demo.mjs did not exit within 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run demo (scripts/demo.mjs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-npm-demo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles on the first run and when a source changed, not otherwise', async () => {
    // A project of one source file, and a stub compiler (tsc itself is not what is tested: it
    // took a minute here on a loaded machine) that copies it to dist/ and counts its runs.
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    const main = join(dir, 'src', 'cli', 'main.ts');
    writeFileSync(main, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
    const compiler = join(dir, 'compile.mjs');
    writeFileSync(
      compiler,
      [
        "import { appendFileSync, copyFileSync, mkdirSync } from 'node:fs';",
        "if (process.argv.slice(2).join(' ') !== '-p tsconfig.json') process.exit(3);",
        "mkdirSync('dist/src/cli', { recursive: true });",
        "copyFileSync('src/cli/main.ts', 'dist/src/cli/main.js');",
        "appendFileSync('compiled', 'x');",
      ].join('\n'),
    );
    const env = { REFLEX_DEMO_COMPILER: compiler };
    let r = await runScript(dir, ['--help'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /compiling/);
    assert.equal(r.stdout, '["demo","--help"]\n');

    r = await runScript(dir, ['--duration', '2s'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no compile when nothing changed');
    assert.equal(r.stdout, '["demo","--duration","2s"]\n');

    // An edited source (newer than the compiled CLI): compiled again.
    writeFileSync(main, 'console.log("edited", process.argv.length);\n');
    const built = statSync(join(dir, 'dist', 'src', 'cli', 'main.js')).mtime;
    const later = new Date(built.getTime() + 10_000);
    utimesSync(main, later, later);
    r = await runScript(dir, [], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /compiling/);
    assert.equal(r.stdout, 'edited 3\n');
    assert.equal(readFileSync(join(dir, 'compiled'), 'utf8'), 'xx', 'compiled twice in three runs');
  });

  it('in this repository (built by the test run), `--help` starts without compiling', async () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const r = await runScript(root, ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /Usage: reflex demo/);
  });
});
