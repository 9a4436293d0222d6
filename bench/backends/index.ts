// The registry of benchmarked backends.
import type { BenchBackend } from './backend.js';
import { openMemory } from './memory.js';
import { openMysql } from './mysql.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';

export const backendNames = ['sqlite', 'mysql', 'postgres', 'memory'] as const;
export type BackendName = (typeof backendNames)[number];

export async function openBackend(name: BackendName): Promise<BenchBackend> {
  switch (name) {
    case 'memory':
      return openMemory();
    case 'sqlite':
      return openSqlite();
    case 'mysql':
      return openMysql();
    case 'postgres':
      return openPostgres();
  }
}

/** A writer for the cross-process latency probe (runs in the child). */
export interface LatencyWriter {
  write(foreignId: string): Promise<number>;
  close(): Promise<void>;
}

export async function openWriter(backend: string, _config: unknown): Promise<LatencyWriter> {
  throw new Error(`no cross-process writer for ${backend} yet`);
}
