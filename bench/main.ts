// npm run bench: measures reflex-events side by side with a baseline measured in the same run
// (the physical limit of each backend, and a real peer, NATS JetStream), prints one table and
// writes it as bench/results/latest.json and latest.md. See docs/benchmarks.md.
//
//   npm run bench -- [--quick] [--backends=sqlite,mysql,postgres,memory] [--events=N]
//                    [--peers=nats|none] [--out=DIR]
//                    [--insert-ms=N] [--latency-count=N] [--fanout-ms=N]
//                    [--recovery-restarts=N] [--recovery-down-ms=N]
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { CursorStore } from '../src/core/index.js';
import { newReflexClient, serveStream } from '../src/grpc/index.js';
import type { BenchBackend, BenchSizes } from './backends/backend.js';
import { type BackendName, backendNames, openBackend } from './backends/index.js';
import { type WakeupName, wakeupLabels } from './backends/wakeups.js';
import { benchGrpcHostile } from './grpc-hostile.js';
import { leaseRows } from './leases.js';
import { type CatchUpResult, catchUp, median, percentile, rateOf, timed } from './measure.js';
import { ormRows } from './orm.js';
import { type BridgeResults, runBridge } from './peers/jetstream-bridge.js';
import { type NatsResults, NatsUnreachableError, runNats } from './peers/nats.js';
import { recoveryRows } from './recovery.js';
import {
  type BenchReport,
  loadAverage1m,
  machineInfo,
  makeRow,
  type Row,
  renderText,
  type Target,
  writeReport,
} from './report.js';

interface Options {
  readonly quick: boolean;
  readonly backends: readonly BackendName[];
  readonly peers: readonly string[];
  readonly sizes: BenchSizes;
  readonly recovery: { readonly restarts: number; readonly downMs: number };
  readonly out: string;
}

/** Sections `--sections` can pick; "catch-up" holds the memory and gRPC rows, "peer" NATS and the bridge. */
const sectionNames = [
  'insert',
  'catch-up',
  'latency',
  'fan-out',
  'recovery',
  'grpc-hostile',
  'leases',
  'orm',
  'peer',
] as const;

/** The sections to run; every one unless `--sections` names some. */
let chosenSections: ReadonlySet<string> = new Set(sectionNames);
const wants = (name: string): boolean => chosenSections.has(name);

const usage = `usage: npm run bench -- [--quick] [--backends=${backendNames.join(',')}] [--events=N]
                       [--peers=nats|none] [--out=DIR]
                       [--insert-ms=N] [--latency-count=N] [--fanout-ms=N]
                       [--recovery-restarts=N] [--recovery-down-ms=N]
                       [--sections=${sectionNames.join(',')}]`;

function parseOptions(argv: readonly string[]): Options {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null || m[1] === undefined) throw new Error(`unknown argument ${arg}\n${usage}`);
    flags.set(m[1], m[2] ?? '');
  }
  for (const key of flags.keys()) {
    const known = ['quick', 'backends', 'events', 'peers', 'out', 'sections', 'help'];
    const sizing = [
      'insert-ms',
      'latency-count',
      'fanout-ms',
      'recovery-restarts',
      'recovery-down-ms',
    ];
    if (![...known, ...sizing].includes(key)) {
      throw new Error(`unknown option --${key}\n${usage}`);
    }
  }
  if (flags.has('help')) {
    console.log(usage);
    process.exit(0);
  }
  const quick = flags.has('quick');
  const list = (v: string | undefined, all: readonly string[]): string[] =>
    v === undefined ? [...all] : v.split(',').filter((x) => x !== '' && x !== 'none');
  const backends = list(flags.get('backends'), backendNames);
  for (const b of backends) {
    if (!(backendNames as readonly string[]).includes(b)) throw new Error(`unknown backend ${b}`);
  }
  const sections = list(flags.get('sections'), sectionNames);
  for (const x of sections) {
    if (!(sectionNames as readonly string[]).includes(x)) throw new Error(`unknown section ${x}`);
  }
  chosenSections = new Set(sections);
  const peers = list(flags.get('peers'), ['nats']);
  for (const p of peers) if (p !== 'nats') throw new Error(`unknown peer ${p}`);
  const eventsFlag = flags.get('events');
  const events = eventsFlag === undefined ? (quick ? 100_000 : 1_000_000) : Number(eventsFlag);
  if (!Number.isInteger(events) || events < 1000) throw new Error('--events must be ≥ 1000');
  const int = (flag: string, quickValue: number, fullValue: number, min: number): number => {
    const v = flags.get(flag);
    const n = v === undefined ? (quick ? quickValue : fullValue) : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}`);
    return n;
  };
  const insertMs = int('insert-ms', 1000, 3000, 50);
  const latencyCount = int('latency-count', 50, 200, 1);
  const fanoutMs = int('fanout-ms', 2000, 5000, 100);
  // 0 restarts leaves the recovery rows out.
  const recoveryRestarts = int('recovery-restarts', 3, 5, 0);
  const recoveryDownMs = int('recovery-down-ms', 5000, 5000, 500);
  return {
    quick,
    backends: backends as BackendName[],
    peers,
    recovery: { restarts: recoveryRestarts, downMs: recoveryDownMs },
    out: flags.get('out') ?? fileURLToPath(new URL('../../bench/results', import.meta.url)),
    sizes: quick
      ? { events, insertMs, latencyCount, latencyIntervalMs: 20, fanoutMs }
      : { events, insertMs, latencyCount, latencyIntervalMs: 10, fanoutMs },
  };
}

const log = (msg: string): void => {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
};

const perS = (value: number, unit = 'events/s') => ({ value, unit });
const ms = (value: number) => ({ value, unit: 'ms' });
const mb = (value: number) => ({ value, unit: 'MB' });
const atLeast = (limit: number): Target => ({
  text: `≥ ${limit}×`,
  on: 'ratio',
  op: '>=',
  limit,
});
const atMostMs = (limit: number, what = 'p99'): Target => ({
  text: `${what} ≤ ${limit} ms`,
  on: 'value',
  op: '<=',
  limit,
});

/** Rounds of each catch-up measure; the median is reported. */
const catchUpRounds = 5;

/** What one backend measured, kept for the peer comparison rows. */
interface BackendFigures {
  catchUpPerS?: number | undefined;
  latencyP99?: number | undefined;
  /** Head latency p99 from another process, by wake-up. */
  otherProcessP99: Map<WakeupName, number>;
  insert1PerS?: number | undefined;
  insert8PerS?: number | undefined;
}

/** Closes a cursor store that has a lifecycle (the SQL stores' flush timer). */
async function closeStore(store: CursorStore): Promise<void> {
  const c = (store as { close?: () => Promise<void> }).close;
  if (typeof c === 'function') await c.call(store);
}

async function section(
  rows: Row[],
  fallback: Omit<Row, 'status'>,
  fn: () => Promise<void>,
): Promise<void> {
  if (!wants(fallback.section)) return;
  try {
    await fn();
  } catch (err) {
    log(`${fallback.backend} ${fallback.section}: ${String(err)}`);
    rows.push(
      makeRow({
        ...fallback,
        status: 'error',
        note: (String(err).split('\n')[0] ?? '').slice(0, 160),
      }),
    );
  }
}

async function benchBackend(
  b: BenchBackend,
  o: Options,
  rows: Row[],
  figures: BackendFigures,
): Promise<void> {
  const name = b.name;
  const absent = b.absentReason;
  const sizes = o.sizes;

  if (b.insert !== undefined) {
    const ins = b.insert;
    for (const writers of [1, 8]) {
      const base = {
        section: 'insert',
        backend: name,
        measure: `one-event tx/s, ${writers} writer${writers > 1 ? 's' : ''}`,
      };
      await section(rows, base, async () => {
        log(`${name}: insert, ${writers} writer(s)`);
        await ins.prepare(writers);
        // Interleaved rounds, best of each: the machine is shared, so a slow second hurts one
        // variant less when the variants take turns.
        let none = 0;
        let hand = 0;
        let reflex: number | undefined;
        const reflexInsert = ins.reflex;
        for (let round = 0; round < (o.quick ? 1 : 3); round++) {
          none = Math.max(none, await rateOf((w) => ins.withoutEvent(w), writers, sizes.insertMs));
          hand = Math.max(hand, await rateOf((w) => ins.handWritten(w), writers, sizes.insertMs));
          if (reflexInsert !== undefined) {
            const r = await rateOf((w) => reflexInsert(w), writers, sizes.insertMs);
            reflex = Math.max(reflex ?? 0, r);
          }
        }
        if (writers === 1) figures.insert1PerS = reflex;
        else figures.insert8PerS = reflex;
        const status = reflex === undefined ? 'absent' : 'measured';
        const value = reflex === undefined ? undefined : perS(reflex, 'tx/s');
        rows.push(
          makeRow({
            ...base,
            measure: `${base.measure} vs the tx without event`,
            status,
            ...(value === undefined ? {} : { value }),
            baseline: perS(none, 'tx/s'),
            baselineLabel: 'no event row',
            ...(absent === undefined ? {} : { note: absent }),
          }),
          makeRow({
            ...base,
            measure: `${base.measure} vs hand-written INSERT`,
            status,
            ...(value === undefined ? {} : { value }),
            baseline: perS(hand, 'tx/s'),
            baselineLabel: 'hand-written INSERT',
            target: atLeast(0.9),
          }),
        );
      });
    }
    const withWakeup = ins.withWakeup;
    const wakeups = b.reflex?.wakeups ?? [];
    for (const writers of withWakeup === undefined || wakeups.length === 0 ? [] : [1, 8]) {
      const base = {
        section: 'insert',
        backend: name,
        measure: `one-event tx/s, ${writers} writer${writers > 1 ? 's' : ''}, wake-up on vs polling only`,
      };
      await section(rows, base, async () => {
        if (withWakeup === undefined) return;
        log(`${name}: insert with wake-ups, ${writers} writer(s)`);
        await ins.prepare(writers);
        // Each variant in turn (best of its rounds), a stream waiting at the head meanwhile. The
        // order flips each round, so that a machine getting busier or quieter favours none; four
        // rounds at least (two left single rounds of ±15% on a shared machine deciding the ratio).
        const best = new Map<WakeupName, number>();
        const readerQps = new Map<WakeupName, number[]>();
        const order = ['poll', ...wakeups] as WakeupName[];
        const rounds = o.quick ? 4 : 6;
        for (let round = 0; round < rounds; round++) {
          for (const wakeup of round % 2 === 0 ? order : [...order].reverse()) {
            const variant = await withWakeup(wakeup);
            let qps = 0;
            try {
              const r = await rateOf((w) => variant.write(w), writers, sizes.insertMs);
              best.set(wakeup, Math.max(best.get(wakeup) ?? 0, r));
            } finally {
              qps = await variant.close();
            }
            readerQps.set(wakeup, [...(readerQps.get(wakeup) ?? []), qps]);
          }
        }
        const poll = best.get('poll') ?? 0;
        // The reader's queries per second over each variant's life (mostly writing), the median
        // of its rounds: what the wake-up costs the database beside the writers.
        const qpsOf = (w: WakeupName): string => {
          const q = [...(readerQps.get(w) ?? [])].sort((a, b) => a - b);
          return (q[Math.floor(q.length / 2)] ?? 0).toFixed(0);
        };
        for (const wakeup of wakeups) {
          rows.push(
            makeRow({
              ...base,
              measure: `one-event tx/s, ${writers} writer${writers > 1 ? 's' : ''}, ${wakeupLabels[wakeup]} vs polling only`,
              status: 'measured',
              value: perS(best.get(wakeup) ?? 0, 'tx/s'),
              baseline: perS(poll, 'tx/s'),
              baselineLabel: 'polling only',
              target: atLeast(0.9),
              note: `best of ${rounds} rounds each, in turns; notify() after each commit; a stream in another process reads at the head (${qpsOf(wakeup)} queries/s, polling only ${qpsOf('poll')})`,
            }),
          );
        }
      });
    }
    await ins.cleanup().catch(() => {});
  }

  const catchUpBase = {
    section: 'catch-up',
    backend: name,
    measure: `events/s through run, ${sizes.events.toLocaleString('en')} stored (async cursor store)`,
  };
  let localCatchUp: number | undefined;
  await section(rows, catchUpBase, async () => {
    log(`${name}: seeding ${sizes.events} events`);
    const seeded = await timed(() => b.seed(sizes.events, log));
    log(`${name}: seeded in ${(seeded.ms / 1000).toFixed(1)} s`);
    const rawScan = async (): Promise<number> => {
      const raw = await timed(() => b.rawScan(1000));
      if (raw.result !== sizes.events) {
        throw new Error(`raw scan read ${raw.result} rows, expected ${sizes.events}`);
      }
      return (raw.result / raw.ms) * 1000;
    };
    const reflex = b.reflex;
    if (reflex === undefined) {
      const rawPerS = await rawScan();
      rows.push(
        makeRow({
          ...catchUpBase,
          status: 'absent',
          baseline: perS(rawPerS),
          baselineLabel: 'raw paged PK scan',
          target: atLeast(0.7),
          ...(absent === undefined ? {} : { note: absent }),
        }),
        makeRow({
          section: 'memory',
          backend: name,
          measure: `RSS streaming ${sizes.events.toLocaleString('en')} events`,
          status: 'absent',
          baselineLabel: 'RSS at 10,000',
          target: { text: '+ ≤ 64 MB', on: 'delta', op: '<=', limit: 64 },
        }),
      );
      return;
    }
    // Raw scan and run alternate, and each figure is the median of its rounds: on a shared
    // machine one pass of each can land in a quiet and a busy moment.
    const rawRates: number[] = [];
    const passes: CatchUpResult[] = [];
    for (let round = 1; round <= catchUpRounds; round++) {
      log(`${name}: raw scan, round ${round}`);
      rawRates.push(await rawScan());
      log(`${name}: catch-up through run, round ${round}`);
      const store = await reflex.cursorStore();
      try {
        passes.push(await catchUp(reflex.stream(), store, `bench_${name}_${process.pid}`));
      } finally {
        await closeStore(store);
      }
      const got = passes[passes.length - 1] as CatchUpResult;
      if (got.events !== sizes.events) {
        throw new Error(`run consumed ${got.events} events, expected ${sizes.events}`);
      }
    }
    // Memory is read on the first pass: later ones start with what earlier ones left in the heap.
    const got = passes[0] as CatchUpResult;
    const runPerS = median(passes.map((p) => p.perSecond));
    const rawPerS = median(rawRates);
    localCatchUp = runPerS;
    figures.catchUpPerS = runPerS;
    // The ratio pairs each pass with the raw scan just before it (the same moment of a shared
    // machine) and takes the median of those pairs.
    const ratios = passes.map((p, i) => p.perSecond / (rawRates[i] as number));
    const perRound = ratios.map((r) => r.toFixed(2)).join(', ');
    rows.push(
      makeRow({
        ...catchUpBase,
        status: 'measured',
        value: perS(runPerS),
        baseline: perS(rawPerS),
        ratio: median(ratios),
        baselineLabel: name === 'memory' ? 'loop over the array' : 'raw paged PK scan',
        ...(name === 'memory'
          ? { note: `no driver: the cost of run itself; medians of ${catchUpRounds} rounds` }
          : {
              target: atLeast(0.7),
              note: `medians of ${catchUpRounds} alternating rounds; ratio: median of the rounds' ${perRound}`,
            }),
      }),
      makeRow({
        section: 'memory',
        backend: name,
        measure: `RSS streaming ${sizes.events.toLocaleString('en')} events (max)`,
        status: sizes.events >= 20_000 ? 'measured' : 'skipped',
        value: mb(got.rssMax),
        baseline: mb(got.rssAt10k),
        baselineLabel: 'RSS at 10,000',
        target: { text: '+ ≤ 64 MB', on: 'delta', op: '<=', limit: 64 },
        ...(Number.isNaN(got.heapAtEnd)
          ? {}
          : {
              note: `live heap after GC ${got.heapAt10k.toFixed(1)} → ${got.heapAtEnd.toFixed(1)} MB`,
            }),
      }),
    );
  });

  const grpcBase = {
    section: 'catch-up',
    backend: name,
    measure: 'events/s over gRPC on loopback (server and client in this process)',
  };
  await section(rows, grpcBase, async () => {
    const reflex = b.reflex;
    if (reflex === undefined || localCatchUp === undefined) {
      rows.push(
        makeRow({
          ...grpcBase,
          status: 'absent',
          baselineLabel: 'same stream, local',
          target: atLeast(0.5),
          ...(absent === undefined ? {} : { note: absent }),
        }),
      );
      return;
    }
    const server = await serveStream(reflex.stream());
    const client = newReflexClient(server.address);
    try {
      const rates: number[] = [];
      for (let round = 1; round <= catchUpRounds; round++) {
        log(`${name}: catch-up over gRPC, round ${round}`);
        const store = await reflex.cursorStore();
        try {
          const got = await catchUp(client.stream, store, `bench_grpc_${name}_${process.pid}`);
          if (got.events !== sizes.events) {
            throw new Error(`gRPC run consumed ${got.events} events, expected ${sizes.events}`);
          }
          rates.push(got.perSecond);
        } finally {
          await closeStore(store);
        }
      }
      rows.push(
        makeRow({
          ...grpcBase,
          status: 'measured',
          value: perS(median(rates)),
          baseline: perS(localCatchUp),
          baselineLabel: 'same stream, local',
          target: atLeast(0.5),
          note: `median of ${catchUpRounds} rounds`,
        }),
      );
    } finally {
      await client.close();
      await server.stop();
    }
  });

  const latencyRows = (
    where: string,
    result: { latenciesMs: readonly number[]; note?: string } | undefined,
    p99Target: Target | undefined,
  ): Row[] => {
    const measure = `head latency COMMIT → consume, ${where}`;
    if (result === undefined) {
      return [
        makeRow({
          section: 'latency',
          backend: name,
          measure: `${measure}, p50`,
          status: 'absent',
          ...(absent === undefined ? {} : { note: absent }),
        }),
        makeRow({
          section: 'latency',
          backend: name,
          measure: `${measure}, p99`,
          status: 'absent',
          ...(p99Target === undefined ? {} : { target: p99Target }),
        }),
      ];
    }
    const n = result.latenciesMs.length;
    const note = `${n} events${result.note === undefined ? '' : `; ${result.note}`}`;
    return [
      makeRow({
        section: 'latency',
        backend: name,
        measure: `${measure}, p50`,
        status: 'measured',
        value: ms(percentile(result.latenciesMs, 0.5)),
        note,
      }),
      makeRow({
        section: 'latency',
        backend: name,
        measure: `${measure}, p99`,
        status: 'measured',
        value: ms(percentile(result.latenciesMs, 0.99)),
        ...(p99Target === undefined ? {} : { target: p99Target }),
      }),
    ];
  };

  const sameBase = { section: 'latency', backend: name, measure: 'head latency, same process' };
  await section(rows, sameBase, async () => {
    log(`${name}: head latency, same process`);
    const r = await b.reflex?.latencySameProcess(sizes);
    if (r !== undefined) figures.latencyP99 = percentile(r.latenciesMs, 0.99);
    rows.push(...latencyRows('same process (notify)', r, atMostMs(10)));
  });
  if (name !== 'memory') {
    const wakeups = b.reflex?.wakeups ?? [];
    for (const wakeup of ['poll', ...wakeups] as WakeupName[]) {
      const label = `other process, ${wakeupLabels[wakeup]}`;
      const target =
        wakeup === 'poll' ? atMostMs(100, 'p99 (polling)') : atMostMs(10, 'p99 (wake-up)');
      const otherBase = { section: 'latency', backend: name, measure: `head latency, ${label}` };
      await section(rows, otherBase, async () => {
        log(`${name}: head latency, ${label}`);
        const other = b.reflex?.latencyOtherProcess;
        const r = other === undefined ? undefined : await other(sizes, wakeup);
        if (r !== undefined) figures.otherProcessP99.set(wakeup, percentile(r.latenciesMs, 0.99));
        rows.push(...latencyRows(label, r, target));
      });
    }

    const fanBase = {
      section: 'fan-out',
      backend: name,
      measure: '100 streams at the head of one idle table: DB queries/s',
    };
    await section(rows, fanBase, async () => {
      const idle = b.reflex?.idleQueriesPerS;
      if (idle === undefined) {
        rows.push(
          makeRow({
            ...fanBase,
            status: 'absent',
            baselineLabel: '1 stream',
            target: { text: '≤ 20 queries/s', on: 'value', op: '<=', limit: 20 },
            ...(absent === undefined ? {} : { note: absent }),
          }),
        );
        return;
      }
      // The default options first (SQLite's file watch is on by default), then each wake-up.
      const defaultWakeup: WakeupName = name === 'sqlite' ? 'watch' : 'poll';
      const variants = [defaultWakeup, ...wakeups.filter((w) => w !== defaultWakeup)];
      for (const wakeup of variants) {
        log(`${name}: idle fan-out, ${wakeupLabels[wakeup]}`);
        const one = await idle(1, sizes.fanoutMs, wakeup);
        const hundred = await idle(100, sizes.fanoutMs, wakeup);
        rows.push(
          makeRow({
            ...fanBase,
            ...(wakeup === defaultWakeup
              ? {}
              : { measure: `${fanBase.measure}, ${wakeupLabels[wakeup]}` }),
            status: 'measured',
            value: perS(hundred, 'queries/s'),
            baseline: perS(one, 'queries/s'),
            baselineLabel: '1 stream',
            target: { text: '≤ 20 queries/s', on: 'value', op: '<=', limit: 20 },
          }),
        );
      }
    });
  }
}

function natsRows(
  n: NatsResults | undefined,
  error: { message: string; unreachable: boolean } | undefined,
  figures: ReadonlyMap<string, BackendFigures>,
): Row[] {
  const rows: Row[] = [];
  if (n === undefined) {
    rows.push(
      makeRow({
        section: 'peer',
        backend: 'nats',
        measure: 'NATS JetStream',
        status: error === undefined || error.unreachable ? 'skipped' : 'error',
        ...(error === undefined ? {} : { note: error.message }),
      }),
    );
    return rows;
  }
  const p50 = percentile(n.latencyMs, 0.5);
  const p99 = percentile(n.latencyMs, 0.99);
  rows.push(
    makeRow({
      section: 'peer',
      backend: 'nats',
      measure: 'JetStream publish, each ack awaited, 1 publisher',
      status: 'measured',
      value: perS(n.publish1PerS, 'msgs/s'),
    }),
    makeRow({
      section: 'peer',
      backend: 'nats',
      measure: 'JetStream publish, each ack awaited, 8 publishers',
      status: 'measured',
      value: perS(n.publish8PerS, 'msgs/s'),
    }),
    makeRow({
      section: 'peer',
      backend: 'nats',
      measure: `JetStream bulk publish (pipelined), ${n.consumed.toLocaleString('en')} msgs`,
      status: 'measured',
      value: perS(n.bulkPublishPerS, 'msgs/s'),
    }),
    makeRow({
      section: 'peer',
      backend: 'nats',
      measure: 'JetStream durable pull-consume (explicit ack each)',
      status: 'measured',
      value: perS(n.consumePerS, 'msgs/s'),
    }),
    makeRow({
      section: 'peer',
      backend: 'nats',
      measure: 'JetStream head latency publish → consume, p50',
      status: 'measured',
      value: ms(p50),
      note: `${n.latencyMs.length} msgs`,
    }),
    makeRow({
      section: 'peer',
      backend: 'nats',
      measure: 'JetStream head latency publish → consume, p99',
      status: 'measured',
      value: ms(p99),
    }),
  );
  for (const [backend, f] of figures) {
    const rel = (measure: string, value: number | undefined, baseline: number, unit: string) =>
      makeRow({
        section: 'peer',
        backend,
        measure,
        status: value === undefined ? 'absent' : 'measured',
        ...(value === undefined ? {} : { value: { value, unit } }),
        baseline: { value: baseline, unit },
        baselineLabel: 'NATS JetStream',
      });
    rows.push(rel('catch-up vs JetStream pull-consume', f.catchUpPerS, n.consumePerS, 'events/s'));
    if (backend !== 'memory') {
      rows.push(
        rel('one-event tx/s (1 writer) vs publish (1)', f.insert1PerS, n.publish1PerS, '/s'),
        rel('one-event tx/s (8 writers) vs publish (8)', f.insert8PerS, n.publish8PerS, '/s'),
      );
    }
    rows.push(
      rel(
        'head latency p99 (same process) vs JetStream (lower is better)',
        f.latencyP99,
        p99,
        'ms',
      ),
    );
    for (const [wakeup, other] of f.otherProcessP99) {
      rows.push(
        rel(
          `head latency p99 (other process, ${wakeupLabels[wakeup]}) vs JetStream (lower is better)`,
          other,
          p99,
          'ms',
        ),
      );
    }
  }
  return rows;
}

/** The JetStream bridge (reflex-events/nats) beside JetStream's client and our gRPC server. */
async function bridgeRows(reachable: boolean, o: Options): Promise<Row[]> {
  const base = { section: 'peer', backend: 'nats-bridge' } as const;
  if (!reachable) {
    return [
      makeRow({
        ...base,
        measure: 'JetStream bridge',
        status: 'skipped',
        note: 'NATS unreachable',
      }),
    ];
  }
  let b: BridgeResults;
  try {
    b = await runBridge({
      url: process.env.REFLEX_TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
      events: o.sizes.events,
      log,
    });
  } catch (err) {
    log(`nats bridge: ${String(err)}`);
    return [
      makeRow({
        ...base,
        measure: 'JetStream bridge',
        status: 'error',
        note: String(err).slice(0, 160),
      }),
    ];
  }
  return [
    makeRow({
      ...base,
      measure: `relay into JetStream vs JetStream bulk publish of the same ${b.relayed.toLocaleString('en')} msgs`,
      status: 'measured',
      value: perS(b.relayPerS, 'msgs/s'),
      baseline: perS(b.bulkPerS, 'msgs/s'),
      baselineLabel: 'JetStream bulk publish',
      target: atLeast(0.7),
      note: 'both at most 256 publishes in flight, a full window refilled at half; the relay also writes its cursor and chains expected sequences',
    }),
    makeRow({
      ...base,
      measure: `${b.consumers} consumers × ${b.perConsumer.toLocaleString('en')} events: through JetStream (source) vs through the gRPC server`,
      status: 'measured',
      value: perS(b.jetStreamReadPerS),
      baseline: perS(b.grpcReadPerS),
      baselineLabel: 'reflex gRPC server',
      note: 'events delivered per second, all consumers together',
    }),
  ];
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const loadAtStart = loadAverage1m();
  const date = new Date().toISOString();
  const rows: Row[] = [];
  const versions: Record<string, string> = { node: process.version };
  const figures = new Map<string, BackendFigures>();
  log(`options ${JSON.stringify({ quick: o.quick, backends: o.backends, ...o.sizes })}`);

  for (const name of o.backends) {
    let b: BenchBackend;
    try {
      b = await openBackend(name);
    } catch (err) {
      log(`${name}: unavailable: ${String(err)}`);
      rows.push(
        makeRow({
          section: 'all',
          backend: name,
          measure: 'every row',
          status: 'skipped',
          note: `cannot open: ${String(err).slice(0, 120)}`,
        }),
      );
      continue;
    }
    versions[name] = b.version;
    const f: BackendFigures = { otherProcessP99: new Map() };
    figures.set(name, f);
    try {
      await benchBackend(b, o, rows, f);
    } finally {
      await b.close();
    }
  }

  if (o.recovery.restarts > 0 && wants('recovery')) {
    // MariaDB and PostgreSQL privately (never the shared servers); the gRPC server serves SQLite.
    const which = o.backends.filter((b) => b === 'mysql' || b === 'postgres') as string[];
    if (o.backends.includes('sqlite')) which.push('grpc');
    rows.push(...(await recoveryRows({ ...o.recovery, which }, log)));
  }

  if (o.backends.includes('memory') && wants('grpc-hostile')) {
    const hostileBase = {
      section: 'grpc-hostile',
      backend: 'memory',
      measure: 'catch-up of a well-behaved client under a rapid-reset flood, ratio to undisturbed',
    };
    await section(rows, hostileBase, async () => {
      rows.push(...(await benchGrpcHostile(o.sizes, log)));
    });
  }

  if (wants('leases')) rows.push(...(await leaseRows(o.backends, o.quick ? 2 : 10, log)));

  // The ORM rows, on the backends among those asked for that the tools are measured on.
  const ormKinds = (['postgres', 'sqlite'] as const).filter((k) => o.backends.includes(k));
  if (ormKinds.length > 0 && wants('orm')) {
    rows.push(
      ...(await ormRows({ quick: o.quick, insertMs: o.sizes.insertMs, kinds: ormKinds, log })),
    );
  }

  let nats: NatsResults | undefined;
  let natsError: { message: string; unreachable: boolean } | undefined;
  if (o.peers.includes('nats') && wants('peer')) {
    try {
      nats = await runNats({
        url: process.env.REFLEX_TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
        events: o.sizes.events,
        publishMs: o.sizes.insertMs,
        latencyCount: o.sizes.latencyCount,
        latencyIntervalMs: o.sizes.latencyIntervalMs,
        log,
      });
      versions.nats = `nats-server ${nats.version}`;
    } catch (err) {
      natsError = {
        message: String(err).slice(0, 160),
        unreachable: err instanceof NatsUnreachableError,
      };
      log(`nats: ${natsError.message}`);
    }
    rows.push(...natsRows(nats, natsError, figures));
    rows.push(...(await bridgeRows(nats !== undefined, o)));
  }

  const report: BenchReport = {
    date,
    durationS: (performance.now() - started) / 1000,
    options: {
      quick: o.quick,
      backends: o.backends,
      peers: o.peers,
      ...o.sizes,
      recovery: o.recovery,
    },
    machine: machineInfo(loadAtStart),
    versions,
    rows,
  };
  console.log(renderText(report));
  const files = writeReport(report, o.out);
  log(`wrote ${files.json} and ${files.md}`);
}

await main();
