// gRPC under hostile clients (issue 13): the server runs in its own process (a memory log served
// over gRPC), attackers in another, the well-behaved client here.
//  - catch-up of a well-behaved client while a rapid-reset flood runs, as a ratio to the same
//    catch-up undisturbed, and its p99 head latency meanwhile, for two attackers: one that keeps
//    each connection until the server closes it, one that reconnects as soon as it gets GOAWAY;
//  - the server's RSS once 20,000 HEADERS-only streams were attempted (the cap refuses the rest).
// The same file is the child: `grpc-hostile.js server <events>` and `grpc-hostile.js flood <port>`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Event, isHeadReachedErr, newConsumer, newSpec, run } from '../src/core/index.js';
import { newReflexClient, serveStream } from '../src/grpc/index.js';
import { MemCursorStore, newMemoryEventLog } from '../src/testing/index.js';
import { RawH2 } from '../test/support/raw-h2.js';
import { median, percentile } from './measure.js';
import { makeRow, type Row } from './report.js';

const self = fileURLToPath(import.meta.url);
const method = '/reflexpb.Reflex/Stream';
/** Each attacker's address: another host, as far as the server can tell (one each, so the
 * second does not start under the penalty the first earned). */
const attackerAddress = { keep: '127.0.0.2', reconnect: '127.0.0.3' } as const;

/** How a flooding attacker treats GOAWAY. */
type Attacker = 'keep' | 'reconnect';

const attackerLabel: Record<Attacker, string> = {
  keep: 'attacker keeps each connection until closed',
  reconnect: 'attacker reconnects at each GOAWAY',
};

/**
 * Pins a process (every thread) to CPUs, when taskset is there. The attacker stands for another
 * machine: on this one it gets core 1, the server and the good client core 0, so the figure is
 * what the flood costs the server, not the attacker's own CPU taken from it. Says if it pinned.
 */
function pin(pid: number, cpus: string): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

export interface HostileSizes {
  readonly events: number;
  readonly latencyCount: number;
  readonly latencyIntervalMs: number;
}

/** A child process speaking lines: commands on stdin, answers on stdout. */
class Child {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;

  constructor(args: string[]) {
    this.#child = spawn(process.execPath, ['--expose-gc', self, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.pid = this.#child.pid ?? 0;
    const rl = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream });
    rl.on('line', (l) => {
      this.#lines.push(l);
      this.#wake?.();
    });
    this.#child.once('exit', () => this.#wake?.());
  }

  send(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
  }

  /** The next line starting with `prefix` (bounded: 60 s). */
  async line(prefix: string): Promise<string> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const i = this.#lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.#lines.splice(i, 1)[0]?.slice(prefix.length).trim() ?? '';
      if (this.#child.exitCode !== null) throw new Error(`child exited before "${prefix}"`);
      if (Date.now() > deadline) throw new Error(`child said no "${prefix}" within 60 s`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await exited;
  }
}

/** Rates of rounds, in thousands of events/s, for a note. */
function rounds(rates: readonly number[]): string {
  return rates.map((r) => `${(r / 1000).toFixed(0)}k`).join(', ');
}

/** Catches up from the start to the head; events per second. */
async function catchUpRate(address: string, events: number): Promise<number> {
  await using client = newReflexClient(address);
  let n = 0;
  const start = performance.now();
  try {
    await run(
      newSpec(
        client.stream,
        new MemCursorStore(),
        newConsumer('bench', () => {
          n++;
        }),
        { toHead: true },
      ),
      // Bounded, as every wait of the bench.
      { signal: AbortSignal.timeout(300_000) },
    );
  } catch (err) {
    if (!isHeadReachedErr(err)) throw err;
  }
  if (n < events) throw new Error(`caught up ${n} events of ${events}`);
  return (n / (performance.now() - start)) * 1000;
}

/** Head latency: the server inserts `count` events `intervalMs` apart; write → consume, in ms. */
async function headLatency(server: Child, address: string, s: HostileSizes): Promise<number[]> {
  await using client = newReflexClient(address);
  const latencies: number[] = [];
  const controller = new AbortController();
  const stream = await client.stream('', { fromHead: true, signal: controller.signal });
  // Bounded: a flood may slow the call's start, so the server ticks until told to stop.
  const timer = setTimeout(
    () => controller.abort(new Error('head latency: no events in 120 s')),
    120_000,
  );
  try {
    server.send(`tick ${s.latencyIntervalMs}`);
    while (latencies.length < s.latencyCount) {
      const e: Event = await stream.recv();
      // The timestamp is the insert's Date.now() in the server process (same machine clock).
      latencies.push(Date.now() - e.timestamp.getTime());
    }
  } finally {
    server.send('untick');
    clearTimeout(timer);
    controller.abort();
    await stream.close();
  }
  return latencies;
}

export async function benchGrpcHostile(
  sizes: HostileSizes,
  log: (m: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const section = 'grpc-hostile';
  const backend = 'memory';
  // At most 200,000 events: enough for a steady rate, short under the flood.
  const events = Math.min(sizes.events, 200_000);
  const server = new Child(['server', String(events)]);
  const floods: Child[] = [];
  const cpus = spawnSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' });
  const ownCpus = cpus.status === 0 ? (cpus.stdout.split(':').at(-1)?.trim() ?? '') : '';
  try {
    const address = await server.line('address');
    const port = address.split(':').at(-1) ?? '0';
    const pinned = ownCpus !== '' && pin(server.pid, '0') && pin(process.pid, '0');
    log(`grpc-hostile: catch-up undisturbed${pinned ? ' (server and client on core 0)' : ''}`);
    // One catch-up to warm up (JIT, buffers), then the undisturbed rounds: two now, one after
    // each flood (so the baseline spans the same stretch of the run as the floods).
    await catchUpRate(address, events);
    const calm = [await catchUpRate(address, events), await catchUpRate(address, events)];
    const runs: {
      attacker: Attacker;
      stormy: number[];
      latencies: number[];
      how: string;
      opens: number;
    }[] = [];
    for (const attacker of ['keep', 'reconnect'] as const) {
      log(`grpc-hostile: catch-up under a rapid-reset flood (${attackerLabel[attacker]})`);
      server.send('opens');
      const opensBefore = Number(await server.line('opens'));
      const flood = new Child(['flood', port, attacker]);
      floods.push(flood);
      if (pinned) pin(flood.pid, '1');
      await flood.line('flooding');
      const stormy = [await catchUpRate(address, events), await catchUpRate(address, events)];
      const latencies = await headLatency(server, address, sizes);
      flood.send('stats');
      const stats = await flood.line('stats');
      await flood.kill();
      server.send('opens');
      const opens = Number(await server.line('opens')) - opensBefore;
      calm.push(await catchUpRate(address, events));
      const how = `${pinned ? 'attacker pinned to core 1, server and client to core 0; ' : ''}flood ${stats}`;
      runs.push({ attacker, stormy, latencies, how, opens });
    }
    // Rows once every undisturbed round is in.
    for (const { attacker, stormy, latencies, how, opens } of runs) {
      rows.push(
        makeRow({
          section,
          backend,
          measure: `catch-up of a well-behaved client under a rapid-reset flood, ratio to undisturbed (${attackerLabel[attacker]})`,
          status: 'measured',
          value: { value: median(stormy), unit: 'events/s' },
          baseline: { value: median(calm), unit: 'events/s' },
          baselineLabel: 'same catch-up, no flood, in turns',
          target: { text: '≥ 0.5×', on: 'ratio', op: '>=', limit: 0.5 },
          note: `median of 2 rounds (${rounds(stormy)}; undisturbed ${rounds(calm)}); ${how}; sources opened meanwhile: ${opens} (the good client's 3)`,
        }),
        makeRow({
          section,
          backend,
          measure: `head latency under a rapid-reset flood, p99 (${attackerLabel[attacker]})`,
          status: 'measured',
          value: { value: percentile(latencies, 0.99), unit: 'ms' },
          target: { text: 'p99 ≤ 100 ms', on: 'value', op: '<=', limit: 100 },
          note: `${latencies.length} events ${sizes.latencyIntervalMs} ms apart; p50 ${percentile(latencies, 0.5).toFixed(1)} ms`,
        }),
      );
    }

    await server.kill();

    log('grpc-hostile: 20,000 HEADERS-only streams');
    // A small log: the figure is what the streams cost, not the events.
    const small = new Child(['server', '1000']);
    floods.push(small);
    const smallPort = (await small.line('address')).split(':').at(-1) ?? '0';
    small.send('rss');
    const idleRss = Number(await small.line('rss'));
    // 134 × 150 = 20,100 attempted (a tiny smoke run: 20 × 150).
    const conns = sizes.events >= 100_000 ? 134 : 20;
    const holder = new Child(['headers-only', smallPort, String(conns), '150']);
    floods.push(holder);
    const held = await holder.line('sent');
    small.send('rss');
    const heldRss = Number(await small.line('rss'));
    rows.push(
      makeRow({
        section,
        backend,
        measure: `server RSS with ${conns === 134 ? '20,000' : conns * 150} HEADERS-only streams attempted`,
        status: 'measured',
        value: { value: heldRss, unit: 'MB' },
        baseline: { value: idleRss, unit: 'MB' },
        baselineLabel: 'the same server before',
        target: { text: '≤ 150 MB', on: 'value', op: '<=', limit: 150 },
        note: `${conns} connections × 150 streams (cap 100 each); ${held}`,
      }),
    );
  } finally {
    if (ownCpus !== '') pin(process.pid, ownCpus);
    for (const f of floods) await f.kill();
    await server.kill();
  }
  return rows;
}

// --- children ---

async function serverChild(events: number): Promise<void> {
  const log = newMemoryEventLog();
  for (let i = 0; i < events; i++) log.insert(`f${i}`, 1 + (i % 5));
  let opens = 0;
  const server = await serveStream((after, options) => {
    opens++;
    return log.stream(after, options);
  });
  process.stdout.write(`address ${server.address}\n`);
  let ticking: NodeJS.Timeout | undefined;
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, a] = line.split(' ');
    if (cmd === 'rss') {
      // Settled figures: what the process holds, not garbage waiting for a collection.
      (globalThis as { gc?: () => void }).gc?.();
      process.stdout.write(`rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)}\n`);
    } else if (cmd === 'opens') {
      process.stdout.write(`opens ${opens}\n`);
    } else if (cmd === 'tick') {
      clearInterval(ticking);
      let n = 0;
      ticking = setInterval(() => log.insert(`tick${n++}`, 1), Number(a));
    } else if (cmd === 'untick') {
      clearInterval(ticking);
    }
  }
}

/**
 * Four connections from the attacker's address, each sending requests with their RST_STREAM as
 * fast as the socket takes them; `keep` writes on until the server closes the connection, then
 * reconnects; `reconnect` opens a new connection as soon as GOAWAY arrives.
 */
async function floodChild(port: number, attacker: Attacker): Promise<void> {
  let resets = 0;
  let connections = 0;
  let goaways = 0;
  const open = new Set<RawH2>();
  let stopped = false;
  const toldToGo = (raw: RawH2): boolean => attacker === 'reconnect' && raw.goaway() !== undefined;
  const one = async (): Promise<void> => {
    while (!stopped) {
      const raw = await RawH2.connect(port, { from: attackerAddress[attacker] });
      connections++;
      open.add(raw);
      while (!raw.closed && !stopped && !toldToGo(raw)) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 50; i++) {
          const c = raw.callBytes(method);
          batch.push(c.bytes, RawH2.rstBytes(c.id));
        }
        resets += 50;
        raw.write(Buffer.concat(batch));
        // Only as fast as the socket takes it (an attacker with a fat pipe); a held connection
        // never drains, so its close (or, for `reconnect`, any frame: a GOAWAY) wakes it too.
        await new Promise<void>((resolve) => {
          if (!raw.socket.writableNeedDrain) {
            setImmediate(resolve);
            return;
          }
          const wake = (): void => {
            raw.socket.off('drain', wake).off('close', wake).off('data', wake);
            resolve();
          };
          raw.socket.on('drain', wake).on('close', wake);
          if (attacker === 'reconnect') raw.socket.on('data', wake);
        });
      }
      open.delete(raw);
      if (raw.goaway() !== undefined) goaways++;
      raw.destroy();
    }
  };
  const workers = [one(), one(), one(), one()];
  process.stdout.write('flooding\n');
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'stats') {
      const told = goaways + [...open].filter((r) => r.goaway() !== undefined).length;
      process.stdout.write(
        `stats ${resets} resets sent on ${connections} connections (${told} got GOAWAY)\n`,
      );
    }
  }
  stopped = true;
  await Promise.allSettled(workers);
}

/** `conns` connections, each opening `streams` calls that send HEADERS and never a request. */
async function headersOnlyChild(port: number, conns: number, streams: number): Promise<void> {
  const raws: RawH2[] = [];
  for (let c = 0; c < conns; c++) {
    const raw = await RawH2.connect(port);
    raws.push(raw);
    const bytes: Buffer[] = [];
    for (let s = 0; s < streams; s++) bytes.push(raw.callBytes(method, { body: false }).bytes);
    raw.write(Buffer.concat(bytes));
  }
  // Until every refusal is in (each connection: its streams beyond the cap), bounded.
  const deadline = Date.now() + 30_000;
  const refusedOf = (r: RawH2): number => [...r.resets().values()].filter((x) => x === 7).length;
  while (Date.now() < deadline && raws.some((r) => refusedOf(r) + 100 < streams && !r.closed)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const refused = raws.reduce((n, r) => n + refusedOf(r), 0);
  const closed = raws.filter((r) => r.closed).length;
  process.stdout.write(
    `sent ${conns * streams} streams, ${refused} refused (REFUSED_STREAM), ${closed} connections closed by the server\n`,
  );
  // Held until killed.
  await new Promise(() => {});
}

if (process.argv[1] === self) {
  const [role, a = '0', b = '0', c = '0'] = process.argv.slice(2);
  if (role === 'server') await serverChild(Number(a));
  else if (role === 'flood') await floodChild(Number(a), b === 'reconnect' ? 'reconnect' : 'keep');
  else if (role === 'headers-only') await headersOnlyChild(Number(a), Number(b), Number(c));
}
