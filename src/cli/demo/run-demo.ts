import type { Writable } from 'node:stream';
import {
  type CursorStore,
  type Event,
  isExpected,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
  type StreamFunc,
} from '../../core/index.js';
import { sleep } from '../../internal/timers.js';
import { formatDuration } from '../duration.js';
import { ProgressDisplay } from '../progress.js';
import { type DemoWorld, UserEventType } from './world.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly out: Writable & { isTTY?: boolean };
  /** How long to write events, in ms; undefined = until `signal` aborts. */
  readonly durationMs: number | undefined;
  /** Events written per second. */
  readonly rate: number;
  /** Ends the writing early (Ctrl-C); the demo still catches up and prints its summary. */
  readonly signal: AbortSignal;
  /** How long the consumers may take to reach the head once writing stopped, in ms. @default 20000 */
  readonly catchUpMs?: number;
}

/** What the demo found: `ok` when every event reached both consumers and both cursors are at the head. */
export interface DemoResult {
  readonly ok: boolean;
  readonly written: number;
  readonly head: string;
  readonly consumers: readonly ConsumerResult[];
}

/** One consumer's part of {@link DemoResult}. */
export interface ConsumerResult {
  readonly name: string;
  readonly startCursor: string;
  readonly consumed: number;
  readonly cursor: string;
  readonly missing: number;
  /** Events in the source after the consumer's starting cursor. */
  readonly expected: number;
  /** True when the distinct events consumed are exactly the expected ones. */
  readonly countsEqual: boolean;
  readonly duplicates: number;
  readonly error?: string;
}

/** A cursor store that remembers the last cursor set, for the live display. */
class Tracked implements CursorStore {
  last = '';
  readonly inner: CursorStore;
  constructor(inner: CursorStore) {
    this.inner = inner;
  }
  getCursor(name: string): Promise<string> {
    return this.inner.getCursor(name);
  }
  async setCursor(name: string, cursor: string): Promise<void> {
    await this.inner.setCursor(name, cursor);
    this.last = cursor;
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
}

interface Side {
  readonly name: string;
  readonly store: Tracked;
  readonly stream: StreamFunc;
  readonly seen: Map<string, number>;
  startCursor: string;
  consumed: number;
  lastEventAt: number;
  error?: unknown;
  extra: () => string;
}

/**
 * The demo: the users service writes users at `rate` events per second, while the audit consumer
 * (local stream) and the mailer consumer (remote stream) consume them with persisted cursors.
 * When the writing ends it waits for both to reach the head, stops them (their cursors are
 * flushed), checks that every event in the range each consumer covered reached it, and prints a
 * summary.
 */
export async function runDemo(world: DemoWorld, options: DemoOptions): Promise<DemoResult> {
  const { out } = options;
  let mails = 0;
  const sides: Side[] = [
    makeSide('audit', world.auditCursors, world.auditStream, () => ''),
    makeSide('mailer', world.mailerCursors, world.mailerStream, () => `  ${mails} welcome mails`),
  ];
  for (const s of sides) {
    s.startCursor = await s.store.getCursor(s.name);
    s.store.last = s.startCursor;
  }
  const startHead = await world.head();
  let head = startHead;
  let written = 0;
  let nextUser = (await world.userCount()) + 1;

  out.write('reflex demo\n');
  for (const line of world.setup) out.write(`  ${line}\n`);
  if (startHead !== '') {
    out.write(
      `  continuing: head ${startHead}, ${sides.map((s) => `${s.name} cursor ${s.startCursor || '-'}`).join(', ')}\n`,
    );
  }
  out.write('\n');

  const consumers = new AbortController();
  const runs = sides.map((side) => {
    const consumer = newConsumer(side.name, (e: Event) => {
      side.seen.set(e.id, (side.seen.get(e.id) ?? 0) + 1);
      side.consumed++;
      side.lastEventAt = e.timestamp.getTime();
      if (side.name === 'mailer' && e.type === UserEventType.created) mails++;
    });
    return run(newSpec(side.stream, side.store, consumer), { signal: consumers.signal }).catch(
      (err: unknown) => {
        if (!consumers.signal.aborted) side.error = err;
      },
    );
  });

  const started = Date.now();
  const total = options.durationMs === undefined ? '' : ` of ${formatDuration(options.durationMs)}`;
  const lagOf = (s: Side): string => {
    const n = lagEvents(head, s.store.last);
    const t =
      n === 0 || s.lastEventAt === 0 ? '' : ` (${formatDuration(Date.now() - s.lastEventAt)})`;
    return `${n} events${t}`;
  };
  const display = new ProgressDisplay({
    out,
    render: () => [
      `${formatDuration(Math.min(Date.now() - started, options.durationMs ?? Number.POSITIVE_INFINITY))}${total} · writing ${options.rate} events/s${options.durationMs === undefined ? ' · Ctrl-C to stop' : ''}`,
      `  users    ${String(written).padStart(7)} written     head   ${head || '-'}`,
      ...sides.map(
        (s) =>
          `  ${s.name.padEnd(8)} ${String(s.consumed).padStart(7)} consumed    cursor ${(s.store.last || '-').padEnd(8)} lag ${lagOf(s)}${s.extra()}`,
      ),
    ],
    renderLine: () =>
      `${formatDuration(Date.now() - started)} written ${written} head ${head || '-'} | ${sides
        .map(
          (s) =>
            `${s.name} consumed ${s.consumed} cursor ${s.store.last || '-'} lag ${lagEvents(head, s.store.last)}`,
        )
        .join(' | ')}`,
  });
  display.start();

  // The users service: creates a user now and then, updates existing ones otherwise.
  // A plain timer, not AbortSignal.timeout: on Node 20 a timeout signal held only by
  // AbortSignal.any can be garbage-collected before it fires, and the demo would never end.
  const writing = new AbortController();
  const stopWriting = writing.signal;
  const onStop = (): void => writing.abort();
  options.signal.addEventListener('abort', onStop, { once: true });
  if (options.signal.aborted) writing.abort();
  const timer =
    options.durationMs === undefined ? undefined : setTimeout(onStop, options.durationMs);
  let writeError: unknown;
  try {
    while (!stopWriting.aborted && sides.every((s) => s.error === undefined)) {
      const due = Math.floor(((Date.now() - started) / 1000) * options.rate) - written;
      for (let i = 0; i < due; i++) {
        const create = nextUser === 1 || written % 4 === 0;
        const userId = create ? nextUser++ : 1 + ((written * 7919) % (nextUser - 1));
        await world.writeUser(userId, create);
        written++;
      }
      head = await world.head();
      await sleep(20, stopWriting).catch(() => {});
    }
  } catch (err) {
    writeError = err;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onStop);
  }

  // Catch up: both consumers reach the head, then stop (run flushes their cursors). Whatever
  // fails here, the consumers and the display are stopped, so nothing keeps the process up.
  try {
    head = await world.head();
    const deadline = Date.now() + (options.catchUpMs ?? 20_000);
    while (
      writeError === undefined &&
      sides.some((s) => s.error === undefined && s.store.last !== head) &&
      Date.now() < deadline
    ) {
      await sleep(20);
    }
  } finally {
    consumers.abort();
    await Promise.allSettled(runs);
    display.stop();
  }

  // Check: every event each consumer should have seen, read straight from the source.
  const expected = await listEvents(world.auditStream, minCursor(sides.map((s) => s.startCursor)));
  const results: ConsumerResult[] = [];
  for (const s of sides) {
    const cursor = await s.store.inner.getCursor(s.name);
    let missing = 0;
    let wanted = 0;
    for (const id of expected) {
      if (compareIds(id, s.startCursor) <= 0) continue;
      wanted++;
      if (!s.seen.has(id)) missing++;
    }
    let duplicates = 0;
    for (const n of s.seen.values()) duplicates += n - 1;
    results.push({
      name: s.name,
      startCursor: s.startCursor,
      consumed: s.consumed,
      cursor,
      missing,
      expected: wanted,
      countsEqual: missing === 0 && s.seen.size === wanted,
      duplicates,
      ...(s.error === undefined ? {} : { error: errorLine(s.error) }),
    });
  }
  const ok =
    writeError === undefined &&
    results.every(
      (r) => r.error === undefined && r.missing === 0 && r.countsEqual && r.cursor === head,
    );

  out.write(`\nsummary after ${formatDuration(Date.now() - started)}\n`);
  out.write(`  users    ${written} events written this run, head ${head || '-'}\n`);
  for (const r of results) {
    const caught = r.cursor === head ? 'at the head' : `NOT at the head ${head}`;
    const parts = [
      `${r.consumed} consumed${r.startCursor === '' ? '' : ` after cursor ${r.startCursor}`}`,
      `cursor ${r.cursor || '-'} ${caught}`,
      `${r.missing} missing`,
      ...(r.countsEqual ? [] : [`expected ${r.expected} events`]),
      ...(r.duplicates > 0 ? [`${r.duplicates} redelivered`] : []),
      ...(r.error === undefined ? [] : [`failed: ${r.error}`]),
    ];
    out.write(`  ${r.name.padEnd(8)} ${parts.join(', ')}\n`);
  }
  if (writeError !== undefined) out.write(`  users service failed: ${errorLine(writeError)}\n`);
  out.write(
    ok
      ? `nothing lost: every event reached both consumers, cursors at the head, counts equal (${results.map((r) => `${r.name} ${r.expected}`).join(', ')}).${world.persistent ? ' Run it again: it continues from the cursors.' : ''}\n`
      : 'FAILED: see above\n',
  );
  return { ok, written, head, consumers: results };
}

function makeSide(name: string, store: CursorStore, stream: StreamFunc, extra: () => string): Side {
  return {
    name,
    store: new Tracked(store),
    stream,
    seen: new Map(),
    startCursor: '',
    consumed: 0,
    lastEventAt: 0,
    extra,
  };
}

/** Every event id after `after`, read once up to the head. */
async function listEvents(stream: StreamFunc, after: string): Promise<string[]> {
  const ids: string[] = [];
  const ac = new AbortController();
  const client = await stream(after, { toHead: true, signal: ac.signal });
  try {
    for (;;) ids.push((await client.recv()).id);
  } catch (err) {
    if (!isHeadReachedErr(err)) throw err;
  } finally {
    await client.close();
    ac.abort();
  }
  return ids;
}

function compareIds(a: string, b: string): number {
  if (b === '') return a === '' ? 0 : 1;
  if (a === '') return -1;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function minCursor(cursors: readonly string[]): string {
  return cursors.reduce((m, c) => (compareIds(c, m) < 0 ? c : m));
}

/** Events between the cursor and the head (ids are integers in every demo backend). */
function lagEvents(head: string, cursor: string): number {
  if (head === '') return 0;
  return Number(BigInt(head) - BigInt(cursor === '' ? '0' : cursor));
}

function errorLine(err: unknown): string {
  if (isExpected(err)) return 'stopped';
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}
