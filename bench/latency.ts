// Head latency: COMMIT → consume. A consumer run from the head records when each event reaches
// it; the writer records the wall time just before it sends COMMIT (so the commit itself counts).
// Both use performance.timeOrigin + now(), comparable across processes of one machine.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isExpected, newConsumer, newSpec, run, type StreamFunc } from '../src/core/index.js';
import { MemCursorStore } from '../src/testing/index.js';
import { wallMs } from './measure.js';

/** Writes the event with this foreign id in its own transaction; resolves with the wall time
 * (ms) taken just before COMMIT. */
export type LatencyWrite = (foreignId: string) => Promise<number>;

/**
 * Streams from the head while `write` adds `count` events `intervalMs` apart; returns the
 * latency of each. Warm-up writes go first until one arrives (so the stream is open and at the
 * head); an event that never arrives within 10 s fails the probe.
 */
export async function headLatency(
  stream: StreamFunc,
  write: LatencyWrite,
  count: number,
  intervalMs: number,
): Promise<number[]> {
  const seen = new Map<string, number>();
  let wake: (() => void) | undefined;
  const consumer = newConsumer('latency', (e) => {
    seen.set(e.foreignId, wallMs());
    wake?.();
  });
  const ac = new AbortController();
  const running = run(newSpec(stream, new MemCursorStore(), consumer, { fromHead: true }), {
    signal: ac.signal,
  }).catch((err: unknown) => (isExpected(err) ? undefined : err));
  const waitFor = async (id: string, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (!seen.has(id) && Date.now() < end) {
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const t = new AbortController();
      await Promise.race([
        arrived,
        delay(Math.min(50, end - Date.now()), undefined, { signal: t.signal }).catch(() => {}),
      ]);
      t.abort();
    }
    return seen.has(id);
  };
  let latencies: number[] = [];
  let failure: unknown;
  try {
    latencies = await probe(write, waitFor, seen, count, intervalMs);
  } catch (err) {
    failure = err;
  }
  ac.abort();
  const runError = await running;
  if (failure !== undefined) throw failure;
  if (runError !== undefined) throw runError;
  return latencies;
}

async function probe(
  write: LatencyWrite,
  waitFor: (id: string, ms: number) => Promise<boolean>,
  seen: ReadonlyMap<string, number>,
  count: number,
  intervalMs: number,
): Promise<number[]> {
  let warm = false;
  for (let i = 0; i < 100 && !warm; i++) {
    const id = `warm-${i}`;
    await write(id);
    warm = await waitFor(id, 100);
  }
  if (!warm) throw new Error('head latency: the stream did not deliver a warm-up event');
  const sent: [string, number][] = [];
  for (let i = 0; i < count; i++) {
    const id = `lat-${i}`;
    sent.push([id, await write(id)]);
    await delay(intervalMs);
  }
  const last = sent[sent.length - 1]?.[0];
  if (last !== undefined && !(await waitFor(last, 10_000))) {
    throw new Error('head latency: events did not arrive within 10 s');
  }
  return sent.map(([id, t]) => {
    const at = seen.get(id);
    if (at === undefined) throw new Error(`head latency: event ${id} never arrived`);
    return at - t;
  });
}

/** A writer in a child process (bench/latency-writer.ts), driven over IPC. */
export interface ChildWriter {
  readonly write: LatencyWrite;
  close(): Promise<void>;
}

/** Forks the latency writer for `backend` with its JSON `config`; resolves once it is ready. */
export async function forkWriter(backend: string, config: unknown): Promise<ChildWriter> {
  const path = fileURLToPath(new URL('./latency-writer.js', import.meta.url));
  const child = fork(path, [backend, JSON.stringify(config)], { stdio: 'inherit' });
  const pending = new Map<string, (t: number) => void>();
  child.on('message', (m: { id?: string; t?: number }) => {
    if (m.id !== undefined && m.t !== undefined) pending.get(m.id)?.(m.t);
  });
  const [ready] = (await once(child, 'message')) as [{ ready?: boolean; error?: string }];
  if (ready.ready !== true) {
    child.kill();
    throw new Error(`latency writer failed: ${ready.error ?? 'unknown'}`);
  }
  return {
    write: (id) =>
      new Promise<number>((resolve, reject) => {
        const onExit = (): void => reject(new Error('latency writer exited'));
        child.once('exit', onExit);
        pending.set(id, (t) => {
          pending.delete(id);
          child.off('exit', onExit);
          resolve(t);
        });
        child.send({ id });
      }),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ close: true });
      await exited;
    },
  };
}

/** A stream reading at the head in a child process (bench/head-reader.ts). */
export interface ChildReader {
  /** Stops the stream and the child; resolves with the queries its loader ran. */
  close(): Promise<number>;
}

/** Forks a head reader of `backend` (config as for {@link forkWriter}); resolves once it reads. */
export async function forkReader(backend: string, config: unknown): Promise<ChildReader> {
  const path = fileURLToPath(new URL('./head-reader.js', import.meta.url));
  const child = fork(path, [backend, JSON.stringify(config)], { stdio: 'inherit' });
  const [ready] = (await once(child, 'message')) as [{ ready?: boolean; error?: string }];
  if (ready.ready !== true) {
    child.kill();
    throw new Error(`head reader failed: ${ready.error ?? 'unknown'}`);
  }
  return {
    close: async () => {
      if (child.exitCode !== null) return 0;
      const reply = once(child, 'message') as Promise<[{ queries?: number }]>;
      const exited = once(child, 'exit');
      child.send({ close: true });
      const [[m]] = await Promise.all([reply, exited]);
      return m.queries ?? 0;
    },
  };
}
