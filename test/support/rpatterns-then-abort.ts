// Spawned by rpatterns/clean-exit.test.ts: starts every long-lived pattern with the system clock
// and long timers (batch period, run-forever back-off, poller back-off, awaitEvent poll), aborts,
// and returns. The process must exit by itself: any leaked timer or listener keeps it up.
import { newConsumer, newSpec } from '../../src/core/index.js';
import {
  awaitEvent,
  newBatchConsumer,
  newBatchSpec,
  newConcurrentConsumer,
  newConcurrentSpec,
  newPoller,
  runForever,
} from '../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../src/testing/index.js';

const hour = 3_600_000;
const log = newMemoryEventLog();
for (let i = 0; i < 5; i++) log.insert('x', 1);
const store = new MemCursorStore();
const ac = new AbortController();
const signal = ac.signal;
let started = 0;
const ready = new Promise<void>((resolve) => {
  const mark = (): void => {
    if (++started === 4) resolve();
  };
  const batch = newBatchConsumer('batch', store, () => {}, { periodMs: hour });
  void runForever(newBatchSpec(log.stream, batch), { signal }).then(() => out('batch'));
  const slow = newConsumer('slow', async (_e, s) => {
    mark();
    await new Promise<void>((_r, reject) => s.addEventListener('abort', () => reject(s.reason)));
  });
  void runForever(newConcurrentSpec(log.stream, newConcurrentConsumer(store, slow, 2)), {
    signal,
  }).then(() => out('concurrent'));
  const failing = newSpec(
    () => {
      mark();
      return Promise.reject(new Error('down'));
    },
    store,
    newConsumer('failing', () => {}),
  );
  void runForever(failing, { signal, errorBackoffMs: hour }).then(() => out('failing'));
  const poller = newPoller(
    () => {
      mark();
      return Promise.resolve([]);
    },
    { backoffMs: hour },
  );
  void runForever(
    newSpec(
      poller,
      store,
      newConsumer('polled', () => {}),
    ),
    { signal },
  ).then(() => out('poller'));
});
const waiting = awaitEvent(log.stream, 'never', {
  signal,
  poll: () => false,
  pollIntervalMs: hour,
});
await ready;
setTimeout(() => ac.abort(), 20);
await waiting.catch(() => out('awaitEvent'));

function out(what: string): void {
  process.stdout.write(`${what} ended\n`);
}
