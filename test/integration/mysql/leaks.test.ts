import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mysqlServer, requireServer } from '../../support/servers.js';

test('mysql: after streams, run and the table stop, the process exits on its own', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  const child = fileURLToPath(new URL('../../support/leak-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child, 'mysql', url], {
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.equal(r.error, undefined, `child did not exit on its own: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
});
