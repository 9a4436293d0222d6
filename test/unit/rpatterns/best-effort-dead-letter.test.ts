import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Consumer, ErrorCode, type Event, ReflexError } from '../../../src/core/index.js';
import {
  type ErrorInsertFunc,
  newBestEffortConsumer,
  newDeadLetterConsumer,
} from '../../../src/rpatterns/index.js';
import { makeEvents } from '../../support/events.js';

/** A consumer function that fails `failures` times per event, then succeeds. */
function flaky(failures: number, err: () => unknown = () => new Error('boom')) {
  const attempts = new Map<string, number>();
  return (e: Event): void => {
    const n = attempts.get(e.id) ?? 0;
    attempts.set(e.id, n + 1);
    if (n < failures) throw err();
  };
}

/** Consumes each event until it succeeds (as run + runForever would), recording each outcome. */
async function outcomes(consumer: Consumer, events: Event[], maxAttempts = 10): Promise<string[]> {
  const out: string[] = [];
  const signal = new AbortController().signal;
  for (const e of events) {
    for (let i = 0; i < maxAttempts; i++) {
      try {
        await consumer.consume(e, signal);
        out.push('nil');
        break;
      } catch {
        out.push('err');
      }
    }
  }
  return out;
}

const newKinds = [
  [
    'best effort',
    (retries: number, fn: (e: Event) => void, extra: object = {}) =>
      newBestEffortConsumer('be', fn, { retries, ...extra }),
  ],
  [
    'dead letter',
    (retries: number, fn: (e: Event) => void, extra: object = {}) =>
      newDeadLetterConsumer('dl', fn, () => Promise.resolve(), { retries, ...extra }),
  ],
] as const;

for (const [kind, make] of newKinds) {
  describe(`${kind} consumer`, () => {
    it('retries 0: never errors', async () => {
      assert.deepEqual(await outcomes(make(0, flaky(5)), makeEvents(3)), ['nil', 'nil', 'nil']);
    });
    it('retries 1 with one failure per event: err, nil alternating', async () => {
      assert.deepEqual(await outcomes(make(1, flaky(1)), makeEvents(3)), [
        'err',
        'nil',
        'err',
        'nil',
        'err',
        'nil',
      ]);
    });
    it('retries 3 with two failures per event: err, err, nil', async () => {
      assert.deepEqual(await outcomes(make(3, flaky(2)), makeEvents(2)), [
        'err',
        'err',
        'nil',
        'err',
        'err',
        'nil',
      ]);
    });
    it('never swallows an expected error, even with retries exhausted', async () => {
      const consumer = make(
        0,
        flaky(3, () => new ReflexError(ErrorCode.stopped, 'stopped')),
      );
      assert.deepEqual(await outcomes(consumer, makeEvents(1)), ['err', 'err', 'err', 'nil']);
      const abortErr = make(
        0,
        flaky(1, () => new DOMException('aborted', 'AbortError')),
      );
      assert.deepEqual(await outcomes(abortErr, makeEvents(1)), ['err', 'nil']);
    });
    it('never swallows an error thrown while the run is aborting', async () => {
      const ac = new AbortController();
      const consumer = make(0, () => {
        ac.abort();
        throw new Error('interrupted');
      });
      await assert.rejects(consumer.consume(makeEvents(1)[0] as Event, ac.signal), /interrupted/);
    });
    it('refuses unknown options', () => {
      assert.throws(() => make(0, () => {}, { retry: 1 }), {
        code: 'ERR_REFLEX_INVALID_ARGUMENT',
      });
    });
  });
}

describe('dead letter consumer', () => {
  it('records (consumer name, event id, message) in that order, only once retries are exhausted', async () => {
    const recorded: [string, string, string][] = [];
    const insert: ErrorInsertFunc = (consumerName, eventId, errMsg) => {
      recorded.push([consumerName, eventId, errMsg]);
      return Promise.resolve();
    };
    const consumer = newDeadLetterConsumer(
      'billing',
      (e) => {
        if (e.id !== '2') throw new Error(`cannot bill ${e.id}`);
      },
      insert,
      { retries: 1 },
    );
    assert.deepEqual(await outcomes(consumer, makeEvents(3)), ['err', 'nil', 'nil', 'err', 'nil']);
    assert.deepEqual(recorded, [
      ['billing', '1', 'cannot bill 1'],
      ['billing', '3', 'cannot bill 3'],
    ]);
  });

  it('an expected error with 0 retries is returned and not recorded', async () => {
    let recorded = 0;
    const consumer = newDeadLetterConsumer(
      'dl',
      flaky(1, () => new ReflexError(ErrorCode.canceled, 'canceled')),
      () => {
        recorded++;
        return Promise.resolve();
      },
    );
    assert.deepEqual(await outcomes(consumer, makeEvents(1)), ['err', 'nil']);
    assert.equal(recorded, 0);
  });

  it('a failing writer: the original error is returned every time, nothing skipped', async () => {
    const consumer = newDeadLetterConsumer(
      'dl',
      () => {
        throw new Error('original');
      },
      () => Promise.reject(new Error('db down')),
    );
    const signal = new AbortController().signal;
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        consumer.consume(makeEvents(1)[0] as Event, signal),
        /^Error: original$/,
      );
    }
  });

  it('the recorder gets the run signal', async () => {
    let got: AbortSignal | undefined;
    const consumer = newDeadLetterConsumer(
      'dl',
      () => {
        throw new Error('x');
      },
      (_c, _e, _m, signal) => {
        got = signal;
        return Promise.resolve();
      },
    );
    const ac = new AbortController();
    await consumer.consume(makeEvents(1)[0] as Event, ac.signal);
    assert.equal(got, ac.signal);
  });
});
