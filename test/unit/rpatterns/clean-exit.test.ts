import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('rpatterns leave nothing running', () => {
  it('after an abort, a process running every long-lived pattern exits by itself', async () => {
    const script = fileURLToPath(new URL('../../support/rpatterns-then-abort.js', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `the child must exit by itself (output: ${out})`);
    for (const what of ['batch', 'concurrent', 'failing', 'poller', 'awaitEvent']) {
      assert.match(out, new RegExp(`${what} ended`));
    }
  });
});
