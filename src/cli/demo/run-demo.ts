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

/** What the writer and the consumers share while the demo runs. */
interface DemoState {
  readonly sides: readonly Side[];
  /** The newest event id read from the source ('' when none). */
  head: string;
  written: number;
  nextUser: number;
  mails: number;
  /** When the writing started (ms since the epoch). */
  started: number;
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
  const state = await openState(world);
  printHeader(out, world, state);
  const consumers = new AbortController();
  const runs = startConsumers(state, consumers.signal);
  const display = liveDisplay(out, state, options);
  display.start();

  const writeError = await writeUsers(world, state, options);
  // Catch up: both consumers reach the head, then stop (run flushes their cursors). Whatever
  // fails here, the consumers and the display are stopped, so nothing keeps the process up.
  try {
    state.head = await world.head();
    if (writeError === undefined) await catchUp(state, options.catchUpMs ?? 20_000);
  } finally {
    consumers.abort();
    await Promise.allSettled(runs);
    display.stop();
  }

  const results = await checkSides(world, state);
  const ok =
    writeError === undefined &&
    results.every(
      (r) => r.error === undefined && r.missing === 0 && r.countsEqual && r.cursor === state.head,
    );
  printSummary(out, world, state, results, writeError, ok);
  return { ok, written: state.written, head: state.head, consumers: results };
}

async function openState(world: DemoWorld): Promise<DemoState> {
  const sides: Side[] = [];
  const state: DemoState = {
    sides,
    head: '',
    written: 0,
    nextUser: 0,
    mails: 0,
    started: 0,
  };
  sides.push(
    makeSide('audit', world.auditCursors, world.auditStream, () => ''),
    makeSide(
      'mailer',
      world.mailerCursors,
      world.mailerStream,
      () => `  ${state.mails} welcome mails`,
    ),
  );
  for (const s of sides) {
    s.startCursor = await s.store.getCursor(s.name);
    s.store.last = s.startCursor;
  }
  state.head = await world.head();
  state.nextUser = (await world.userCount()) + 1;
  state.started = Date.now();
  return state;
}

function printHeader(out: DemoOptions['out'], world: DemoWorld, state: DemoState): void {
  out.write('reflex demo\n');
  for (const line of world.setup) out.write(`  ${line}\n`);
  if (state.head !== '') {
    out.write(
      `  continuing: head ${state.head}, ${state.sides.map((s) => `${s.name} cursor ${s.startCursor || '-'}`).join(', ')}\n`,
    );
  }
  out.write('\n');
}

/** Runs both consumers until `signal` aborts; a consumer's failure is kept on its side. */
function startConsumers(state: DemoState, signal: AbortSignal): Promise<void>[] {
  return state.sides.map((side) => {
    const consumer = newConsumer(side.name, (e: Event) => {
      side.seen.set(e.id, (side.seen.get(e.id) ?? 0) + 1);
      side.consumed++;
      side.lastEventAt = e.timestamp.getTime();
      if (side.name === 'mailer' && e.type === UserEventType.created) state.mails++;
    });
    return run(newSpec(side.stream, side.store, consumer), { signal }).catch((err: unknown) => {
      if (!signal.aborted) side.error = err;
    });
  });
}

/**
 * The head as the display shows it: never behind a cursor. The head is read between writes, and
 * a consumer may already be past it (the events it read were committed after the read), which
 * showed as a negative lag on MariaDB and PostgreSQL.
 */
function shownHead(state: DemoState): string {
  return state.sides.reduce(
    (h, s) => (compareIds(s.store.last, h) > 0 ? s.store.last : h),
    state.head,
  );
}

function liveDisplay(
  out: DemoOptions['out'],
  state: DemoState,
  options: DemoOptions,
): ProgressDisplay {
  const { started } = state;
  const total = options.durationMs === undefined ? '' : ` of ${formatDuration(options.durationMs)}`;
  const lagOf = (s: Side, head: string): string => {
    const n = lagEvents(head, s.store.last);
    // The age of the last event consumed; 0 when caught up (or a clock a little ahead).
    const age = Math.max(0, Date.now() - s.lastEventAt);
    const t = n === 0 || s.lastEventAt === 0 ? '' : ` (${formatDuration(age)})`;
    return `${n} events${t}`;
  };
  return new ProgressDisplay({
    out,
    render: () => {
      const head = shownHead(state);
      return [
        `${formatDuration(Math.min(Date.now() - started, options.durationMs ?? Number.POSITIVE_INFINITY))}${total} · writing ${options.rate} events/s${options.durationMs === undefined ? ' · Ctrl-C to stop' : ''}`,
        `  users    ${String(state.written).padStart(7)} written     head   ${head || '-'}`,
        ...state.sides.map(
          (s) =>
            `  ${s.name.padEnd(8)} ${String(s.consumed).padStart(7)} consumed    cursor ${(s.store.last || '-').padEnd(8)} lag ${lagOf(s, head)}${s.extra()}`,
        ),
      ];
    },
    renderLine: () => {
      const head = shownHead(state);
      return `${formatDuration(Date.now() - started)} written ${state.written} head ${head || '-'} | ${state.sides
        .map(
          (s) =>
            `${s.name} consumed ${s.consumed} cursor ${s.store.last || '-'} lag ${lagEvents(head, s.store.last)}`,
        )
        .join(' | ')}`;
    },
  });
}

/**
 * The users service: creates a user now and then, updates existing ones otherwise, at the rate
 * until the duration is up or the signal aborts. Returns what made it fail, if anything.
 */
async function writeUsers(
  world: DemoWorld,
  state: DemoState,
  options: DemoOptions,
): Promise<unknown> {
  // A plain timer, not AbortSignal.timeout: on Node 20 a timeout signal held only by
  // AbortSignal.any can be garbage-collected before it fires, and the demo would never end.
  const writing = new AbortController();
  const stop = writing.signal;
  const onStop = (): void => writing.abort();
  options.signal.addEventListener('abort', onStop, { once: true });
  if (options.signal.aborted) writing.abort();
  const timer =
    options.durationMs === undefined ? undefined : setTimeout(onStop, options.durationMs);
  try {
    while (!stop.aborted && state.sides.every((s) => s.error === undefined)) {
      const due = Math.floor(((Date.now() - state.started) / 1000) * options.rate) - state.written;
      // A slow server falls behind the rate: the time is up all the same (no backlog written
      // after it), and the head is refreshed as the batch goes.
      let headReadAt = Date.now();
      for (let i = 0; i < due && !stop.aborted; i++) {
        const create = state.nextUser === 1 || state.written % 4 === 0;
        const userId = create
          ? state.nextUser++
          : 1 + ((state.written * 7919) % (state.nextUser - 1));
        await world.writeUser(userId, create);
        state.written++;
        if (Date.now() - headReadAt >= 100) {
          state.head = await world.head();
          headReadAt = Date.now();
        }
      }
      state.head = await world.head();
      await sleep(20, stop).catch(() => {});
    }
    return undefined;
  } catch (err) {
    return err;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onStop);
  }
}

/** Waits (bounded) until every consumer that did not fail has its cursor at the head. */
async function catchUp(state: DemoState, catchUpMs: number): Promise<void> {
  const deadline = Date.now() + catchUpMs;
  while (
    state.sides.some((s) => s.error === undefined && s.store.last !== state.head) &&
    Date.now() < deadline
  ) {
    await sleep(20);
  }
}

/** Checks every event each consumer should have seen, read straight from the source. */
async function checkSides(world: DemoWorld, state: DemoState): Promise<ConsumerResult[]> {
  const { sides } = state;
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
  return results;
}

function printSummary(
  out: DemoOptions['out'],
  world: DemoWorld,
  state: DemoState,
  results: readonly ConsumerResult[],
  writeError: unknown,
  ok: boolean,
): void {
  const { head } = state;
  out.write(`\nsummary after ${formatDuration(Date.now() - state.started)}\n`);
  out.write(`  users    ${state.written} events written this run, head ${head || '-'}\n`);
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
