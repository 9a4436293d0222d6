import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../../src/core/index.js';
import { HintGap } from '../../src/rsql/hint-gap.js';
import { type EventsNotifier, HintPublisher } from '../../src/rsql/notifier.js';
import { waitFor } from '../support/wait.js';

/** A notifier whose publishes settle when the test says so (the user-supplied part). */
function manualNotifier(): {
  notifier: EventsNotifier;
  published: string[];
  settle(err?: Error): void;
} {
  const published: string[] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  return {
    published,
    notifier: {
      publish(table) {
        published.push(table);
        return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
      },
      subscribe: () => ({ close() {} }),
    },
    settle(err) {
      const p = pending.shift();
      if (err === undefined) p?.resolve();
      else p?.reject(err);
    },
  };
}

/** A gap that does not adapt. */
const fixedGap = (ms: number): HintGap => new HintGap({ minMs: ms, maxMs: ms });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (m) => void warnings.push(m) };
}

describe('HintPublisher', () => {
  it('keeps one publish in flight and sends one more for every burst that came meanwhile', async () => {
    const m = manualNotifier();
    const p = new HintPublisher(m.notifier, 'ev', recordingLogger(), fixedGap(0));
    p.hint();
    p.hint();
    p.hint();
    assert.deepEqual(m.published, ['ev']);
    m.settle();
    await tick();
    assert.deepEqual(m.published, ['ev', 'ev'], 'the burst costs one more');
    m.settle();
    await tick();
    assert.equal(m.published.length, 2, 'nothing pending: nothing more');
    p.hint();
    assert.equal(m.published.length, 3);
    m.settle();
    await tick();
  });

  it('a failing notifier is logged once per outage and never throws at the writer', async () => {
    const m = manualNotifier();
    const logger = recordingLogger();
    const p = new HintPublisher(m.notifier, 'ev', logger, fixedGap(0));
    p.hint();
    m.settle(new Error('down'));
    await tick();
    p.hint();
    m.settle(new Error('down'));
    await tick();
    assert.equal(logger.warnings.length, 1);
    p.hint();
    m.settle();
    await tick();
    p.hint();
    m.settle(new Error('down again'));
    await tick();
    assert.equal(logger.warnings.length, 2);
    const throwing = new HintPublisher(
      {
        publish() {
          throw new Error('sync failure');
        },
        subscribe: () => ({ close() {} }),
      },
      'ev',
      logger,
      fixedGap(0),
    );
    assert.doesNotThrow(() => throwing.hint());
    await tick();
    assert.equal(logger.warnings.length, 3);
  });

  it('publishes at most one hint per gap: a burst within it costs one more, sent at its end or at close', () => {
    const sent: string[] = [];
    const p = new HintPublisher(
      { publish: (t) => void sent.push(t), subscribe: () => ({ close() {} }) },
      'ev',
      recordingLogger(),
      fixedGap(60_000),
    );
    p.hint();
    assert.deepEqual(sent, ['ev'], 'the first hint at once, though the notifier is synchronous');
    for (let i = 0; i < 100; i++) p.hint();
    assert.deepEqual(sent, ['ev'], 'the burst waits for the gap');
    p.close(); // clears the gap's timer: the test process exits at once
    assert.deepEqual(sent, ['ev', 'ev'], 'the burst costs one more, sent at close');
    p.hint();
    p.close();
    assert.deepEqual(sent, ['ev', 'ev'], 'closed: nothing more');
  });

  it('a synchronous notifier with no gap publishes each hint at once', () => {
    const sent: string[] = [];
    const p = new HintPublisher(
      { publish: (t) => void sent.push(t), subscribe: () => ({ close() {} }) },
      'ev',
      recordingLogger(),
      fixedGap(0),
    );
    p.hint();
    p.hint();
    assert.deepEqual(sent, ['ev', 'ev']);
  });

  it('close with nothing pending publishes nothing', () => {
    const m = manualNotifier();
    const p = new HintPublisher(m.notifier, 'ev', recordingLogger(), fixedGap(60_000));
    p.close();
    p.hint();
    assert.deepEqual(m.published, []);
  });

  it('under a sustained rate publishes once per widened gap, the hint deferred to its end, then narrows back', async () => {
    const clock = { t: 0 };
    const gap = new HintGap({ minMs: 5, maxMs: 25, now: () => clock.t });
    const sent: string[] = [];
    const p = new HintPublisher(
      { publish: (t) => void sent.push(t), subscribe: () => ({ close() {} }) },
      'ev',
      recordingLogger(),
      gap,
    );
    p.hint();
    assert.equal(sent.length, 1);
    clock.t = 1;
    for (let i = 0; i < 20; i++) p.hint();
    assert.equal(sent.length, 1, 'the burst waits for the gap');
    clock.t = 5;
    await waitFor('the deferred publish', () => sent.length === 2);
    assert.equal(gap.ms, 25, 'widened to its most');
    clock.t = 10;
    p.hint();
    assert.equal(sent.length, 2, 'deferred within the widened gap');
    clock.t = 30;
    await waitFor('the publish at the end of the widened gap', () => sent.length === 3);
    assert.equal(gap.ms, 5, 'one hint in 25 ms: back to the least gap');
    clock.t = 1000;
    p.hint();
    assert.equal(sent.length, 4, 'after a quiet spell: at once');
    p.close();
  });
});
