import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event } from '../../../src/core/index.js';
import { newPoller } from '../../../src/rpatterns/index.js';
import { makeEvents } from '../../support/events.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

describe('poller', () => {
  it('blocks on empty pages (backoff 1 min by default) until the signal aborts', async () => {
    const clock = new ManualClock();
    let polls = 0;
    const stream = newPoller(
      () => {
        polls++;
        return Promise.resolve([]);
      },
      { clock },
    );
    const ac = new AbortController();
    const client = await stream('', { signal: ac.signal });
    const next = client.recv();
    await settle();
    assert.equal(polls, 1);
    await clock.advance(60_000);
    assert.equal(polls, 2);
    assert.deepEqual(clock.sleeps, [60_000, 60_000]);
    ac.abort();
    await assert.rejects(next, { name: 'AbortError' });
    assert.equal(clock.pending, 0);
    await client.close();
  });

  it('delivers pages in order, asking after the last delivered id; picks up appended events', async () => {
    const clock = new ManualClock();
    const source: Event[] = makeEvents(10);
    const afters: string[] = [];
    const stream = newPoller(
      (after) => {
        afters.push(after);
        const from = after === '' ? 0 : Number(after);
        return Promise.resolve(source.filter((e) => Number(e.id) > from).slice(0, 4));
      },
      { clock, backoffMs: 5_000 },
    );
    const client = await stream('');
    const got: string[] = [];
    for (let i = 0; i < 10; i++) got.push((await client.recv()).id);
    assert.deepEqual(
      got,
      makeEvents(10).map((e) => e.id),
    );
    assert.deepEqual(afters, ['', '4', '8']);
    const pending = client.recv();
    await settle();
    source.push(...makeEvents(30).slice(10));
    await clock.advance(5_000);
    got.push((await pending).id);
    for (let i = 0; i < 19; i++) got.push((await client.recv()).id);
    assert.deepEqual(
      got,
      makeEvents(30).map((e) => e.id),
    );
    await client.close();
    assert.equal(clock.pending, 0);
  });

  it('toHead ends at the first empty page; a poll error ends the stream; the cursor is passed', async () => {
    const stream = newPoller((after) =>
      Promise.resolve(
        after === '3' ? [] : makeEvents(3).filter((e) => Number(e.id) > Number(after || 0)),
      ),
    );
    const client = await stream('1', { toHead: true });
    assert.equal((await client.recv()).id, '2');
    assert.equal((await client.recv()).id, '3');
    await assert.rejects(client.recv(), { code: 'ERR_REFLEX_HEAD_REACHED' });

    const failing = await newPoller(() => Promise.reject(new Error('api down')))('');
    await assert.rejects(failing.recv(), /api down/);
    await assert.rejects(failing.recv(), /api down/);
    await failing.close();
  });

  it('refuses bad options', () => {
    assert.throws(() => newPoller(() => Promise.resolve([]), { backoff: 1 } as never), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    assert.throws(() => newPoller(() => Promise.resolve([]), { backoffMs: -1 }), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
  });

  it('a poll function that resolves to something other than an array is a clear error', async () => {
    const stream = newPoller(() => Promise.resolve(undefined as unknown as Event[]));
    const client = await stream('');
    await assert.rejects(client.recv(), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
      message: 'poll function must resolve to an array of events, got undefined',
    });
    await client.close();
  });

  it('refuses a page item that is not an event instead of polling again at once', async () => {
    const [e1] = makeEvents(1);
    const pages: [unknown[], RegExp][] = [
      [[undefined], /item 0 is undefined/],
      [[null], /item 0 is null/],
      [[7], /item 0 is number/],
      [[{}], /item 0 has no id/],
      [[{ ...e1, id: '' }], /item 0 has no id/],
      [[e1, undefined], /item 1 is undefined/],
    ];
    for (const [page, message] of pages) {
      let polls = 0;
      const stream = newPoller(() => {
        polls++;
        if (polls > 5) return Promise.reject(new Error('polled again without backing off'));
        return Promise.resolve(page as Event[]);
      });
      const client = await stream('');
      const check = { code: 'ERR_REFLEX_INVALID_ARGUMENT', message };
      await assert.rejects(client.recv(), check);
      await assert.rejects(client.recv(), check, 'sticky');
      assert.equal(polls, 1);
      await client.close();
    }
  });
});
