import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Waker } from '../../src/internal/abort.js';

describe('Waker', () => {
  it('an abort rejects a waiter with the reason and removes it; wake releases the others', async () => {
    const waker = new Waker();
    const ac = new AbortController();
    const aborted = waker.wait(ac.signal);
    const woken = waker.wait();
    assert.equal(waker.size, 2);
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(aborted, (err) => err === reason);
    assert.equal(waker.size, 1, 'the aborted waiter is gone');
    waker.wake();
    assert.equal(await woken, undefined);
    assert.equal(waker.size, 0);
  });

  it('an already aborted signal rejects at once', async () => {
    const ac = new AbortController();
    ac.abort(new Error('before'));
    await assert.rejects(new Waker().wait(ac.signal), /before/);
  });
});
