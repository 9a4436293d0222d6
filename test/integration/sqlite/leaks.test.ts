import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExitsByItself } from '../../support/child.js';

test('sqlite: after streams, run and the table stop, the process exits on its own', () => {
  assertExitsByItself('./leak-child.js', ['sqlite']);
});

test('sqlite: the README consume example exits once runForever returns (no flush timer left)', () => {
  // The child's cursor period is an hour: only a timer cleared after the final flush lets it go.
  const out = assertExitsByItself('./consume-exit-child.js', [], 20_000);
  assert.match(out, /consumed 3, cursor 3/);
});
