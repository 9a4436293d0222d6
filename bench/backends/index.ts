// The registry of benchmarked backends, and the writers of the cross-process latency probe.
import { forkReader, forkWriter } from '../latency.js';
import type { BenchBackend } from './backend.js';
import { openMemory } from './memory.js';
import { mysqlDriver } from './mysql.js';
import { postgresDriver } from './postgres.js';
import { type SqlDriver, sqlBackend, sqlWriter } from './sql.js';
import { type SqliteConfig, sqliteDriver } from './sqlite.js';
import type { WakeupName } from './wakeups.js';

export const backendNames = ['sqlite', 'mysql', 'postgres', 'memory'] as const;
export type BackendName = (typeof backendNames)[number];

async function driverOf(name: string, config?: unknown): Promise<SqlDriver> {
  switch (name) {
    case 'sqlite':
      return sqliteDriver(config as SqliteConfig | undefined);
    case 'mysql':
      return mysqlDriver();
    case 'postgres':
      return postgresDriver();
    default:
      throw new Error(`unknown SQL backend ${name}`);
  }
}

export async function openBackend(name: BackendName): Promise<BenchBackend> {
  if (name === 'memory') return openMemory();
  const driver = await driverOf(name);
  return sqlBackend(
    driver,
    (table, wakeup) => forkWriter(name, { config: driver.childConfig, table, wakeup }),
    (table, wakeup) => forkReader(name, { config: driver.childConfig, table, wakeup }),
  );
}

/** A writer for the cross-process latency probe (runs in the child). */
export interface LatencyWriter {
  write(foreignId: string): Promise<number>;
  close(): Promise<void>;
}

export async function openWriter(backend: string, config: unknown): Promise<LatencyWriter> {
  const c = config as { config: unknown; table: string; wakeup: WakeupName };
  return sqlWriter(await driverOf(backend, c.config), c.table, c.wakeup);
}

/** The driver of a child process that reads (bench/head-reader.ts). */
export function openReaderDriver(backend: string, config: unknown): Promise<SqlDriver> {
  return driverOf(backend, config);
}
