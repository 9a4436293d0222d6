import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('sqlite: after streams, run and the table stop, the process exits on its own', () => {
  const child = fileURLToPath(new URL('../../support/leak-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child, 'sqlite'], { timeout: 20_000, encoding: 'utf8' });
  assert.equal(r.error, undefined, `child did not exit on its own: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
});
