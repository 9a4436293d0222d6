// The gRPC-server-restart scenario of the recovery fault test and bench: a server process
// (grpc-server-child.ts, serving a SQLite events table) is killed and restarted on the same port
// while events are written; one client consumes with runForever (defaults). It measures the time
// from the new server listening to the client handling an event again.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { newConsumer, newSpec } from '../../src/core/index.js';
import { newReflexClient } from '../../src/grpc/index.js';
import { runForever } from '../../src/rpatterns/index.js';
import { newEventsTable } from '../../src/rsql/index.js';
import { MemCursorStore } from '../../src/testing/index.js';

const childScript = fileURLToPath(new URL('./grpc-server-child.js', import.meta.url));

/** What {@link grpcRestartScenario} measured. */
export interface GrpcRestartResult {
  /** Per restart: ms from the new server listening to the client handling an event again. */
  readonly recoveryMs: readonly number[];
  readonly written: number;
  readonly handled: number;
  /** Events missing or out of order; empty when sound. */
  readonly problems: readonly string[];
  readonly codes: readonly string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Starts the server child on `port` (0: any); resolves with its address once it listens. */
function startServer(
  file: string,
  table: string,
  port: number,
): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [childScript, file, table, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server child did not start: ${err}`));
    }, 15_000);
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      if (lines.length > 1) {
        clearTimeout(timer);
        resolve({ child, address: lines[0] as string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server child exited with ${code}: ${err}`));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Runs the scenario; every process, file and client is gone when it settles. */
export async function grpcRestartScenario(options: {
  readonly restarts: number;
  readonly downMs: number;
  readonly progress?: (line: string) => void;
}): Promise<GrpcRestartResult> {
  const progress = options.progress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'reflex-grpc-restart-'));
  const file = join(dir, 'events.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const table = newEventsTable('events');
  await table.createTable(db);
  let written = 0;
  const write = (): void => {
    table.insertSync(db, `w${++written}`, 1);
  };
  const handled: { id: number; at: number }[] = [];
  const codes: string[] = [];
  const recoveryMs: number[] = [];
  const stop = new AbortController();
  let server: { child: ChildProcess; address: string } | undefined;
  let forever: Promise<void> | undefined;
  let writer: NodeJS.Timeout | undefined;
  const client = { close: async () => {} };
  try {
    for (let i = 0; i < 10; i++) write();
    server = await startServer(file, 'events', 0);
    const port = Number(server.address.split(':').at(-1));
    const reflex = newReflexClient(server.address);
    client.close = () => reflex.close();
    writer = setInterval(write, 20);
    forever = runForever(
      newSpec(
        reflex.stream,
        new MemCursorStore(),
        newConsumer('grpc-recovery', (e) => {
          handled.push({ id: Number(e.id), at: performance.now() });
        }),
      ),
      {
        signal: stop.signal,
        logger: {
          debug: () => {},
          info: () => {},
          warn: (_m, f) => void codes.push(String(f?.code)),
          error: (_m, f) => void codes.push(`error:${String(f?.code)}`),
        },
      },
    );
    await until('the first events', 20_000, () => handled.length >= 10);
    for (let i = 0; i < options.restarts; i++) {
      await kill(server.child);
      await sleep(options.downMs);
      const before = handled.length;
      server = await startServer(file, 'events', port);
      const upAt = performance.now();
      await until(`events after restart ${i + 1}`, 20_000, () => handled.length > before);
      const ms = (handled[before]?.at ?? upAt) - upAt;
      recoveryMs.push(ms);
      progress(
        `gRPC restart ${i + 1}/${options.restarts}: events flowing ${Math.round(ms)} ms after the server listened`,
      );
    }
    clearInterval(writer);
    writer = undefined;
    const last = written;
    await until('the client to catch up', 20_000, () => handled.at(-1)?.id === last);
  } finally {
    clearInterval(writer);
    stop.abort();
    await forever;
    await client.close();
    if (server !== undefined) await kill(server.child);
    await table.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const problems: string[] = [];
  let prev = 0;
  for (const h of handled) {
    if (h.id !== prev + 1 && h.id > prev) problems.push(`event ${h.id} after ${prev}: skipped`);
    prev = Math.max(prev, h.id);
  }
  return { recoveryMs, written, handled: handled.length, problems, codes };
}
