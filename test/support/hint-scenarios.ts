// Cross-process wake-up scenarios run against each backend and notifier: a writer's table object
// and a reader's (two loaders, as in two processes: the writer's local notify cannot reach the
// reader), a real database and a real notifier. They prove that hints wake the reader, and that
// lost, duplicated, early or spurious hints never lose nor duplicate an event.
import assert from 'node:assert/strict';
import { type Event, isHeadReachedErr, type StreamClient } from '../../src/core/index.js';
import type { EventsNotifier, EventsTable, NotifyFunc, SqlDatabase } from '../../src/rsql/index.js';
import { waitFor } from './wait.js';

/** One committed (or rolled-back) transaction with one event; resolves with its notify. */
export type HintWrite = (
  table: EventsTable,
  foreignId: string,
  options?: { rollback?: boolean; beforeCommit?: () => void },
) => Promise<NotifyFunc>;

export interface HintBackend {
  /** The reader's handle. */
  readonly db: SqlDatabase;
  readonly write: HintWrite;
}

/** Reads every event of `stream` into `got` until it fails (closed). */
function drain(stream: StreamClient, got: Event[]): Promise<void> {
  return (async () => {
    try {
      for (;;) got.push(await stream.recv());
    } catch {
      // closed at the end
    }
  })();
}

/** Ids strictly increasing and foreign ids exactly `expected`, in commit order per writer. */
function assertExactlyOnce(got: readonly Event[], expected: readonly string[]): void {
  for (let i = 1; i < got.length; i++) {
    assert.ok(Number((got[i] as Event).id) > Number((got[i - 1] as Event).id), 'ids increase');
  }
  assert.deepEqual(got.map((e) => e.foreignId).sort(), [...expected].sort());
}

/**
 * Hints alone drive the reader (its poll interval is an hour): each event, written and notified
 * after the commit, arrives. The first write is notified again until it arrives, since the
 * reader's subscription is made asynchronously when its stream first waits.
 */
export async function hintsWakeTheReader(
  b: HintBackend,
  writer: EventsTable,
  reader: EventsTable,
  count = 5,
): Promise<void> {
  const stream = await reader.toStream(b.db)('', { fromHead: true });
  const got: Event[] = [];
  const reading = drain(stream, got);
  try {
    await warmUp(b, writer, got);
    const expected = ['warm'];
    for (let i = 0; i < count; i++) {
      const fid = `e${i}`;
      (await b.write(writer, fid))();
      expected.push(fid);
      await waitFor(`event ${fid} woken by its hint`, () => got.length === expected.length, 10_000);
    }
    assertExactlyOnce(got, expected);
  } finally {
    await stream.close();
    await reading;
  }
}

/**
 * Writes the event `warm` and notifies it again until it arrives in `got`: the reader's
 * subscription is made asynchronously when its stream first waits, so hints sent before that are
 * not received.
 */
async function warmUp(b: HintBackend, writer: EventsTable, got: readonly Event[]): Promise<void> {
  const notify = await b.write(writer, 'warm');
  notify();
  await waitFor(
    'the warm-up event (re-notified until the subscription is up)',
    () => {
      if (got.length === 0) notify();
      return got.length === 1;
    },
    10_000,
  );
}

/**
 * A sustained write rate, hints alone driving the reader (its poll interval is an hour):
 * `writers` writers commit `each` events back to back, each notified after its commit, so the
 * hint gap widens on both ends (coalescing up to 25 ms of commits into one publish and one query).
 * Every event arrives exactly once, the last ones by the hints deferred to the gap's end.
 */
export async function sustainedRateExactlyOnce(
  b: HintBackend,
  writer: EventsTable,
  reader: EventsTable,
  writers = 4,
  each = 60,
): Promise<void> {
  const stream = await reader.toStream(b.db)('', { fromHead: true });
  const got: Event[] = [];
  const reading = drain(stream, got);
  try {
    await warmUp(b, writer, got);
    const expected = ['warm'];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < each; i++) {
          const fid = `s${w}-${i}`;
          (await b.write(writer, fid))();
          expected.push(fid);
        }
      }),
    );
    await waitFor(
      `${expected.length} events woken by hints alone`,
      () => got.length >= expected.length,
      20_000,
    );
    const last = got[got.length - 1] as Event;
    const rest = await reader.toStream(b.db)(last.id, { toHead: true });
    await assert.rejects(rest.recv(), isHeadReachedErr);
    await rest.close();
    assertExactlyOnce(got, expected);
  } finally {
    await stream.close();
    await reading;
  }
}

/**
 * A notifier that loses hints (every one when `keep` is 0, else one in `keep`): the reader still
 * gets every committed event exactly once, by polling, with two writers committing and rolling
 * back concurrently (gaps in the ids).
 */
export function lossy(notifier: EventsNotifier, keep = 0): EventsNotifier {
  let n = 0;
  return {
    publish: (table) => (keep > 0 && ++n % keep === 0 ? notifier.publish(table) : undefined),
    subscribe: (table, wake, logger) => notifier.subscribe(table, wake, logger),
  };
}

/** A notifier that sends each hint `times` times. */
export function repeating(notifier: EventsNotifier, times: number): EventsNotifier {
  return {
    async publish(table) {
      for (let i = 0; i < times; i++) await notifier.publish(table);
    },
    subscribe: (table, wake, logger) => notifier.subscribe(table, wake, logger),
  };
}

/** A notifier that counts the hints it publishes and those its subscriptions receive. */
export function counted(notifier: EventsNotifier): {
  readonly notifier: EventsNotifier;
  readonly published: () => number;
  readonly woken: () => number;
} {
  let published = 0;
  let woken = 0;
  return {
    notifier: {
      publish(table) {
        published++;
        return notifier.publish(table);
      },
      subscribe: (table, wake, logger) =>
        notifier.subscribe(
          table,
          () => {
            woken++;
            wake();
          },
          logger,
        ),
    },
    published: () => published,
    woken: () => woken,
  };
}

/**
 * {@link everyEventExactlyOnce} with each hint sent three times, which must really have reached
 * the reader: more hints received than published (else the test would pass on polling alone).
 */
export async function duplicatesReachTheReader(
  b: HintBackend,
  notifier: EventsNotifier,
  tables: (
    writerNotifier: EventsNotifier,
    readerNotifier: EventsNotifier,
  ) => Promise<{ writer: EventsTable; reader: EventsTable }>,
): Promise<void> {
  const sent = counted(repeating(notifier, 3));
  const received = counted(notifier);
  const { writer, reader } = await tables(sent.notifier, received.notifier);
  await everyEventExactlyOnce(b, writer, reader);
  assert.ok(sent.published() > 0, 'the writer published hints');
  // The reader subscribes when its stream first waits: hints before that are not received, and
  // a burst's hints may all have gone (the gap widens under it) before the subscription is up:
  // notify again until duplicates arrive.
  await waitFor(
    'duplicated hints received by the reader',
    () => {
      if (received.woken() > sent.published()) return true;
      writer.notify();
      return false;
    },
    10_000,
  );
}

/**
 * Two writers, 12 transactions each, one in four rolled back; every transaction also notifies
 * before its commit (an early hint that finds nothing) and after it (or after its rollback: a
 * spurious hint). The reader gets every committed event exactly once, in id order.
 */
export async function everyEventExactlyOnce(
  b: HintBackend,
  writer: EventsTable,
  reader: EventsTable,
): Promise<void> {
  const stream = await reader.toStream(b.db)('', { fromHead: true });
  const got: Event[] = [];
  const reading = drain(stream, got);
  const committed: string[] = [];
  try {
    await Promise.all(
      [0, 1].map(async (w) => {
        for (let i = 0; i < 12; i++) {
          const fid = `w${w}-${i}`;
          const rollback = i % 4 === 3;
          const notify = await b.write(writer, fid, {
            rollback,
            beforeCommit: () => writer.notify(),
          });
          notify();
          if (!rollback) committed.push(fid);
        }
      }),
    );
    await waitFor(
      `${committed.length} committed events`,
      () => got.length >= committed.length,
      20_000,
    );
    // Nothing more comes: a stream to the head from the last event ends there.
    const last = got[got.length - 1] as Event;
    const rest = await reader.toStream(b.db)(last.id, { toHead: true });
    await assert.rejects(rest.recv(), isHeadReachedErr);
    await rest.close();
    assertExactlyOnce(got, committed);
  } finally {
    await stream.close();
    await reading;
  }
}
