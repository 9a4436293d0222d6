import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { reflex } from '../../support/cli.js';

describe('reflex demo', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'reflex-cli-demo-'));
  after(() => rmSync(cwd, { recursive: true, force: true }));

  it('writes for the duration, then both consumers reach the head with nothing lost', async () => {
    const r = await reflex(['demo', '--duration', '1s', '--rate', '300'], { cwd });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stderr, '');
    // Not a terminal: plain progress lines, no cursor movement codes.
    assert.ok(!r.stdout.includes(String.fromCharCode(27)), 'escape codes in piped output');
    assert.match(r.stdout, /written \d+ head \d+ \| audit consumed \d+/);
    const written = Number(/users +(\d+) events written this run, head (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(written > 0, r.stdout);
    for (const name of ['audit', 'mailer']) {
      const m = new RegExp(`${name} +(\\d+) consumed, cursor (\\d+) at the head, 0 missing`).exec(
        r.stdout,
      );
      assert.ok(m, `${name} line in\n${r.stdout}`);
      assert.equal(Number(m[1]), written);
    }
    assert.match(r.stdout, /nothing lost/);
  });

  it('SIGINT during --forever stops writing and still prints a checked summary', async () => {
    const r = await reflex(['demo', '--forever'], {
      cwd,
      onSpawn: (child) => {
        child.stdout?.once('data', () => setTimeout(() => child.kill('SIGINT'), 300));
      },
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /nothing lost/);
  });
});
