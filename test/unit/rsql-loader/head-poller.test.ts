import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Logger, noopLogger } from '../../../src/core/index.js';
import { HintGap } from '../../../src/rsql/hint-gap.js';
import { HeadPoller, type WakeupStarter } from '../../../src/rsql/loader/head-poller.js';
import { waitFor } from '../../support/wait.js';

/** A poller whose head loads are counted and end when the test says so. */
function pollerWith(options: {
  intervalMs?: number;
  wakeups?: readonly WakeupStarter[];
  logger?: Logger;
  idleHint?: () => void;
  hintGapMs?: number;
  hintGap?: HintGap;
}) {
  const stop = new AbortController();
  const loads: ((error?: Error) => void)[] = [];
  let inFlight = false;
  const poller: HeadPoller = new HeadPoller({
    intervalMs: options.intervalMs ?? 60_000,
    wakeups: options.wakeups ?? [],
    logger: options.logger ?? noopLogger,
    table: 'events',
    signal: stop.signal,
    poll: () => {
      inFlight = true;
      return new Promise<void>((resolve, reject) => {
        loads.push((error) => {
          inFlight = false;
          poller.polled(error === undefined ? undefined : { error });
          if (error === undefined) resolve();
          else reject(error);
        });
      });
    },
    polling: () => inFlight,
    idleHint: options.idleHint,
    hintGap:
      options.hintGap ??
      (options.hintGapMs === undefined
        ? undefined
        : new HintGap({ minMs: options.hintGapMs, maxMs: options.hintGapMs })),
  });
  /** Ends the head load in flight. */
  const endLoad = (error?: Error): void => {
    const end = loads.shift();
    assert.ok(end !== undefined, 'a head load is in flight');
    end(error);
  };
  return { poller, stop, loads, endLoad };
}

describe('HeadPoller', () => {
  it('polls once per interval whatever the number of waiters, and wakes them all', async () => {
    const { poller, stop, loads, endLoad } = pollerWith({ intervalMs: 5 });
    const waiters = [1, 2, 3].map(() => poller.wait(new AbortController().signal));
    assert.equal(poller.waiting, 3);
    await waitFor('the timed poll', () => loads.length === 1);
    endLoad();
    await Promise.all(waiters);
    assert.equal(poller.waiting, 0);
    assert.equal(loads.length, 0, 'one load for three waiters');
    stop.abort();
    await poller.stop();
  });

  it('notify polls at once while someone waits, and not otherwise', async () => {
    const { poller, stop, loads, endLoad } = pollerWith({});
    poller.notify();
    assert.equal(loads.length, 0, 'nobody waits: no query');
    const waiting = poller.wait(new AbortController().signal);
    poller.notify();
    assert.equal(loads.length, 1);
    endLoad();
    await waiting;
    stop.abort();
    await poller.stop();
  });

  it('a hint with nobody waiting goes to idleHint (kept by the loader), one with waiters polls', async () => {
    let idle = 0;
    const { poller, stop, loads, endLoad } = pollerWith({ idleHint: () => idle++ });
    poller.notify();
    assert.equal(idle, 1);
    assert.equal(loads.length, 0);
    const waiting = poller.wait(new AbortController().signal);
    poller.notify();
    assert.equal(idle, 1, 'a waiter: polled instead');
    assert.equal(loads.length, 1);
    endLoad();
    await waiting;
    stop.abort();
    poller.notify();
    assert.equal(idle, 1, 'stopped: ignored');
    await poller.stop();
  });

  it('a head load that fails while streams wait rejects them, not the ones that come after', async () => {
    const warnings: unknown[] = [];
    const logger: Logger = { ...noopLogger, warn: (_m, fields) => warnings.push(fields?.error) };
    const { poller, stop, endLoad } = pollerWith({ logger });
    const waiting = poller.wait(new AbortController().signal);
    poller.notify();
    const lost = new Error('connection lost');
    endLoad(lost);
    await assert.rejects(waiting, (err) => err === lost);
    await waitFor('the failure logged', () => warnings.length === 1);
    assert.equal(warnings[0], lost, 'logged with the error object');
    // A later waiter waits for the next load.
    const later = poller.wait(new AbortController().signal);
    poller.notify();
    endLoad();
    await later;
    stop.abort();
    await poller.stop();
  });

  it('a waiter leaves on its own signal; stop rejects the others with the stop reason', async () => {
    const { poller, stop } = pollerWith({ intervalMs: 60_000 });
    const mine = new AbortController();
    const leaving = poller.wait(mine.signal);
    const staying = poller.wait(new AbortController().signal);
    mine.abort(new Error('mine'));
    await assert.rejects(leaving, /mine/);
    assert.equal(poller.waiting, 1);
    const reason = new Error('stopped');
    stop.abort(reason);
    await poller.stop(); // clears the interval timer: the test process exits at once
    await assert.rejects(staying, (err) => err === reason);
  });

  it('starts the wake-up sources at the first wait, polls on their hints, closes them at stop', async () => {
    const wakes: (() => void)[] = [];
    let closed = 0;
    const warnings: string[] = [];
    const starter: WakeupStarter = (wake) => {
      wakes.push(wake);
      return { close: () => void closed++ };
    };
    const { poller, stop, loads, endLoad } = pollerWith({
      wakeups: [
        starter,
        () => undefined, // nothing for this handle
        () => {
          throw new Error('no listener');
        },
        starter,
      ],
      logger: { ...noopLogger, warn: (message) => warnings.push(message) },
    });
    assert.equal(wakes.length, 0, 'not before a stream waits');
    const first = poller.wait(new AbortController().signal);
    assert.equal(wakes.length, 2, 'both sources started; the failing one logged');
    assert.equal(warnings.length, 1);
    wakes[1]?.();
    assert.equal(loads.length, 1, 'a hint polls now');
    endLoad();
    await first;
    const second = poller.wait(new AbortController().signal);
    assert.equal(wakes.length, 2, 'started once');
    wakes[0]?.();
    endLoad();
    await second;
    stop.abort();
    await poller.stop();
    assert.equal(closed, 2);
    wakes[0]?.();
    assert.equal(loads.length, 0, 'a hint after stop does nothing');
  });

  it('acts on one hint per gap: those within it are acted on once, at its end', async () => {
    let idle = 0;
    const { poller, stop, loads, endLoad } = pollerWith({
      hintGapMs: 60_000,
      idleHint: () => idle++,
    });
    const waiting = poller.wait(new AbortController().signal);
    poller.notify();
    assert.equal(loads.length, 1, 'the first hint polls at once');
    endLoad();
    await waiting;
    const again = poller.wait(new AbortController().signal);
    for (let i = 0; i < 10; i++) poller.notify();
    assert.equal(loads.length, 0, 'hints within the gap wait for its end');
    assert.equal(idle, 0);
    stop.abort();
    await poller.stop(); // clears the gap's timer: the test process exits at once
    await assert.rejects(again);
    assert.equal(loads.length, 0, 'stopped: the deferred hint is dropped');
  });

  it('hints within the gap are not lost: one poll comes for them', async () => {
    const { poller, stop, loads, endLoad } = pollerWith({ hintGapMs: 20 });
    const first = poller.wait(new AbortController().signal);
    poller.notify();
    endLoad();
    await first;
    // Within the gap of the first (unless this machine is slower than 20 ms): deferred, not lost.
    const second = poller.wait(new AbortController().signal);
    poller.notify();
    poller.notify();
    await waitFor('the poll for both hints', () => loads.length === 1);
    endLoad();
    await second;
    stop.abort();
    await poller.stop();
  });

  it('a gap widened by a sustained rate defers a hint to its end, never drops it, and narrows back', async () => {
    const clock = { t: 0 };
    const gap = new HintGap({ minMs: 5, maxMs: 25, now: () => clock.t });
    const { poller, stop, loads, endLoad } = pollerWith({ hintGap: gap });
    const first = poller.wait(new AbortController().signal);
    poller.notify();
    assert.equal(loads.length, 1, 'the first hint polls at once');
    endLoad();
    await first;
    // 20 hints in the next ms: 4 per least gap, deferred to its end, where the gap widens.
    const second = poller.wait(new AbortController().signal);
    clock.t = 1;
    for (let i = 0; i < 20; i++) poller.notify();
    assert.equal(loads.length, 0, 'deferred');
    clock.t = 5; // before the gap's timer can fire: its act is at t = 5
    await waitFor('the poll for the deferred hints', () => loads.length === 1);
    endLoad();
    await second;
    assert.equal(gap.ms, 25, 'widened to its most');
    // One hint within the widened gap: deferred again, acted on at its end.
    const third = poller.wait(new AbortController().signal);
    clock.t = 10;
    poller.notify();
    assert.equal(loads.length, 0, 'deferred within the widened gap');
    clock.t = 30;
    await waitFor('the poll for the hint deferred to the widened gap', () => loads.length === 1);
    endLoad();
    await third;
    assert.equal(gap.ms, 5, 'one hint in 25 ms: back to the least gap');
    const fourth = poller.wait(new AbortController().signal);
    clock.t = 1000;
    poller.notify();
    assert.equal(loads.length, 1, 'after a quiet spell: at once');
    endLoad();
    await fourth;
    stop.abort();
    await poller.stop();
  });
});
