import { test } from 'node:test';
import { assertExitsByItself } from '../../support/child.js';

test('sqlite: after streams, run and the table stop, the process exits on its own', () => {
  assertExitsByItself('./leak-child.js', ['sqlite']);
});
