import { test } from 'node:test';
import { assertExitsByItself } from '../../support/child.js';
import { mysqlServer, requireServer } from '../../support/servers.js';

test('mysql: after streams, run and the table stop, the process exits on its own', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  assertExitsByItself('./leak-child.js', ['mysql', url]);
});
