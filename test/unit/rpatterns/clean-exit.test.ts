import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExitsByItself } from '../../support/child.js';

describe('rpatterns leave nothing running', () => {
  it('after an abort, a process running every long-lived pattern exits by itself', () => {
    const out = assertExitsByItself('./rpatterns-then-abort.js');
    for (const what of ['batch', 'concurrent', 'failing', 'poller', 'awaitEvent']) {
      assert.match(out, new RegExp(`${what} ended`));
    }
  });
});
