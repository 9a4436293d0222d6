// The recovery rows of `npm run bench`: a private MariaDB and PostgreSQL (own data directory and
// port, never the shared servers) stopped for a while and restarted N times under a writer, and a
// gRPC server process killed and restarted on its port; a consumer with runForever's defaults.
// Each row sets the time until events flow again beside the dependency's own start time,
// measured in the same restarts, and the cost of a database that stays down.
import { performance } from 'node:perf_hooks';
import { grpcRestartScenario } from '../test/support/grpc-restart-scenario.js';
import {
  missingBinary,
  type PrivateDb,
  type PrivateDbKind,
  privateMariadb,
  privatePostgres,
} from '../test/support/private-db.js';
import { percentileOf, restartScenario } from '../test/support/recovery-scenario.js';
import { makeRow, type Row } from './report.js';

export interface RecoveryOptions {
  readonly restarts: number;
  readonly downMs: number;
  /** Which scenarios: 'mysql' (a private MariaDB), 'postgres', 'grpc'. */
  readonly which: readonly string[];
}

const recoveryTarget = {
  text: 'p99 ≤ 2000 ms',
  on: 'value',
  op: '<=',
  limit: 2_000,
} as const;

/** A private database whose `start` is timed: the baseline of the recovery row. */
function timedStarts(db: PrivateDb): { db: PrivateDb; startsMs: number[] } {
  const startsMs: number[] = [];
  const timed: PrivateDb = {
    kind: db.kind,
    url: db.url,
    get running() {
      return db.running;
    },
    start: async () => {
      const t0 = performance.now();
      await db.start();
      startsMs.push(performance.now() - t0);
    },
    stop: (how) => db.stop(how),
    destroy: () => db.destroy(),
  };
  return { db: timed, startsMs };
}

async function databaseRows(
  kind: PrivateDbKind,
  backend: string,
  o: RecoveryOptions,
  log: (m: string) => void,
): Promise<Row[]> {
  const section = 'recovery';
  const measure = `events flowing again after a database restart, p99 over ${o.restarts} restarts`;
  const missing = missingBinary(kind);
  if (missing !== undefined) {
    return [makeRow({ section, backend, measure, status: 'skipped', note: missing })];
  }
  const db = await (kind === 'mariadb' ? privateMariadb() : privatePostgres());
  try {
    const { db: timed, startsMs } = timedStarts(db);
    const r = await restartScenario({
      db: timed,
      restarts: o.restarts,
      downMs: o.downMs,
      progress: (line) => log(`${backend} (private ${kind}): ${line}`),
    });
    if (r.problems.length > 0) throw new Error(`recovery lost events: ${r.problems[0]}`);
    const note = `private ${kind}, down ${o.downMs} ms each (killed, then stopped in turn); runForever defaults`;
    const p99 = percentileOf(r.recoveryMs, 99);
    const statementsPerS = (r.downStreamCalls + r.downStoreCalls) / r.downSeconds;
    return [
      makeRow({
        section,
        backend,
        measure,
        status: 'measured',
        value: { value: p99, unit: 'ms' },
        baseline: { value: percentileOf(startsMs, 50), unit: 'ms' },
        baselineLabel: 'the database’s own start, median',
        target: recoveryTarget,
        note,
      }),
      makeRow({
        section,
        backend,
        measure: 'retries/s while the database is down (one stream)',
        status: 'measured',
        value: { value: r.downRuns / r.downSeconds, unit: '/s' },
        target: { text: '≤ 1/s per stream', on: 'value', op: '<=', limit: 1 },
        note: `counted after the back-off's ramp, over ${r.downSeconds.toFixed(1)} s`,
      }),
      makeRow({
        section,
        backend,
        measure: 'statements/s while the database is down (stream + cursor store)',
        status: 'measured',
        value: { value: statementsPerS, unit: 'queries/s' },
        baseline: { value: r.downRuns / r.downSeconds, unit: '/s' },
        baselineLabel: 'retries/s',
        note: `one statement per retry, plus the cursor store's own flush every 5 s (${r.downStreamCalls} stream, ${r.downStoreCalls} store)`,
      }),
    ];
  } finally {
    await db.destroy();
  }
}

async function grpcRows(o: RecoveryOptions, log: (m: string) => void): Promise<Row[]> {
  const measure = `events flowing again after a gRPC server restart, p99 over ${o.restarts} restarts`;
  const r = await grpcRestartScenario({
    restarts: o.restarts,
    downMs: Math.min(o.downMs, 3_000),
    progress: (line) => log(`grpc: ${line}`),
  });
  if (r.problems.length > 0) throw new Error(`recovery lost events: ${r.problems[0]}`);
  return [
    makeRow({
      section: 'recovery',
      backend: 'grpc',
      measure,
      status: 'measured',
      value: { value: percentileOf(r.recoveryMs, 99), unit: 'ms' },
      target: recoveryTarget,
      note: 'server process SIGKILLed, a new one on the same port; measured from it listening',
    }),
  ];
}

/** The recovery rows; a scenario that fails gives an error row, a missing binary a skipped one. */
export async function recoveryRows(o: RecoveryOptions, log: (m: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const attempt = async (backend: string, fn: () => Promise<Row[]>): Promise<void> => {
    try {
      rows.push(...(await fn()));
    } catch (err) {
      log(`${backend} recovery: ${String(err)}`);
      rows.push(
        makeRow({
          section: 'recovery',
          backend,
          measure: 'events flowing again after a restart',
          status: 'error',
          note: (String(err).split('\n')[0] ?? '').slice(0, 160),
        }),
      );
    }
  };
  if (o.which.includes('mysql')) {
    await attempt('mysql', () => databaseRows('mariadb', 'mysql', o, log));
  }
  if (o.which.includes('postgres')) {
    await attempt('postgres', () => databaseRows('postgres', 'postgres', o, log));
  }
  if (o.which.includes('grpc')) await attempt('grpc', () => grpcRows(o, log));
  return rows;
}
