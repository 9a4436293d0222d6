// npm run bench:grpc — remote catch-up over loopback against the same stream consumed locally, in
// the same run: (1) server and client in this process (both share one thread: a lower bound),
// (2) the server in a worker thread (two services on two cores, as in production).
// (3) with --mysql[=url]: the same comparison for an rsql events table in MariaDB (each side with
// its own table object, so neither reads the other's cache).
// Usage: node dist/bench/grpc.js [--events=200000] [--mysql[=mysql://root@127.0.0.1:3306/test]]
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { isHeadReachedErr, newConsumer, newSpec, run, type StreamFunc } from '../src/core/index.js';
import { newReflexClient, serveStream } from '../src/grpc/index.js';
import { newEventsTable } from '../src/rsql/index.js';
import { MemCursorStore, newMemoryEventLog } from '../src/testing/index.js';

function fill(count: number): ReturnType<typeof newMemoryEventLog> {
  const log = newMemoryEventLog();
  for (let i = 0; i < count; i++) log.insert(String(i), 1 + (i % 5));
  return log;
}

async function catchUp(stream: StreamFunc): Promise<{ n: number; perSec: number }> {
  let n = 0;
  const t0 = performance.now();
  await run(
    newSpec(
      stream,
      new MemCursorStore(),
      newConsumer('bench', () => {
        n++;
      }),
      { toHead: true },
    ),
  ).catch((err: unknown) => {
    if (!isHeadReachedErr(err)) throw err;
  });
  return { n, perSec: Math.round((n / (performance.now() - t0)) * 1000) };
}

if (!isMainThread) {
  // The worker: a "writer service" serving its log until told to stop.
  const server = await serveStream(fill(workerData.count as number).stream);
  parentPort?.postMessage(server.address);
  parentPort?.once('message', () => {
    void server.stop();
  });
} else {
  const count = Number(process.argv.find((a) => a.startsWith('--events='))?.slice(9) ?? 200_000);
  const fmt = (x: number): string => `${x.toLocaleString('en')}/s`;
  const log = fill(count);

  const server = await serveStream(log.stream);
  const client = newReflexClient(server.address);
  await catchUp(log.stream); // warm-up: both paths share most of their code
  await catchUp(client.stream);
  const local1 = await catchUp(log.stream);
  const remote1 = await catchUp(client.stream);
  await client.close();
  await server.stop();
  console.log(
    `grpc in-process, ${count} events: remote ${fmt(remote1.perSec)}, local ${fmt(local1.perSec)} (${Math.round((remote1.perSec / local1.perSec) * 100)}%)`,
  );

  const worker = new Worker(new URL(import.meta.url), { workerData: { count } });
  const address = await new Promise<string>((resolve) => worker.once('message', resolve));
  const client2 = newReflexClient(address);
  const local2 = await catchUp(log.stream);
  const remote2 = await catchUp(client2.stream);
  await client2.close();
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));
  if (remote2.n !== count || remote1.n !== count) throw new Error('lost events');
  console.log(
    `grpc server in a worker thread, ${count} events: remote ${fmt(remote2.perSec)}, local ${fmt(local2.perSec)} (${Math.round((remote2.perSec / local2.perSec) * 100)}%)`,
  );

  const mysqlArg = process.argv.find((a) => a.startsWith('--mysql'));
  if (mysqlArg !== undefined) {
    const url = mysqlArg.includes('=') ? mysqlArg.slice(8) : 'mysql://root@127.0.0.1:3306/test';
    const mysql = (await import('mysql2/promise')).default;
    const pool = mysql.createPool({ uri: url, connectionLimit: 4, timezone: 'Z' });
    const name = `bench_grpc_events_${process.pid}`;
    const rows = Math.min(count, 100_000);
    const localTable = newEventsTable(name);
    const servedTable = newEventsTable(name);
    try {
      await localTable.createTable(pool);
      for (let i = 0; i < rows; i += 5000) {
        const batch = Array.from({ length: Math.min(5000, rows - i) }, (_, j) => [
          String(i + j),
          new Date(),
          1 + ((i + j) % 5),
        ]);
        await pool.query(`INSERT INTO ${name} (foreign_id, timestamp, type) VALUES ?`, [batch]);
      }
      const sqlServer = await serveStream(servedTable.toStream(pool));
      const sqlClient = newReflexClient(sqlServer.address);
      const local3 = await catchUp(localTable.toStream(pool));
      const remote3 = await catchUp(sqlClient.stream);
      await sqlClient.close();
      await sqlServer.stop();
      if (local3.n !== rows || remote3.n !== rows) throw new Error('lost events');
      console.log(
        `grpc over an rsql MariaDB table, ${rows} events: remote ${fmt(remote3.perSec)}, local ${fmt(local3.perSec)} (${Math.round((remote3.perSec / local3.perSec) * 100)}%)`,
      );
    } finally {
      await localTable.close();
      await servedTable.close();
      await pool.query(`DROP TABLE IF EXISTS ${name}`);
      await pool.end();
    }
  }
}
