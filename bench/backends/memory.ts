// The in-memory event log of reflex-events/testing: no database, so its rows show the cost of
// run, the stream client and the consumer alone (the ceiling the SQL backends are held to).
import { MemCursorStore, type MemoryEventLog, newMemoryEventLog } from '../../src/testing/index.js';
import { headLatency } from '../latency.js';
import { wallMs } from '../measure.js';
import type { BenchBackend } from './backend.js';

export function openMemory(): BenchBackend {
  let log: MemoryEventLog = newMemoryEventLog();
  return {
    name: 'memory',
    version: `node ${process.version}`,
    absentReason: undefined,
    insert: undefined,
    async seed(n) {
      log.stop();
      log = newMemoryEventLog();
      for (let i = 0; i < n; i++) log.insert(String(i), 1);
    },
    async rawScan(pageSize) {
      let rows = 0;
      let sink = 0;
      for (let after = 0; ; after += pageSize) {
        const page = log.events.slice(after, after + pageSize);
        if (page.length === 0) break;
        for (const e of page) sink += e.type;
        rows += page.length;
        await Promise.resolve();
      }
      return sink >= 0 ? rows : -1;
    },
    reflex: {
      stream: () => log.stream,
      cursorStore: async () => new MemCursorStore(),
      async latencySameProcess(sizes) {
        const l = newMemoryEventLog();
        try {
          const latenciesMs = await headLatency(
            l.stream,
            async (id) => {
              const t = wallMs();
              l.insert(id, 1);
              return t;
            },
            sizes.latencyCount,
            sizes.latencyIntervalMs,
          );
          return { latenciesMs };
        } finally {
          l.stop();
        }
      },
      wakeups: [],
      latencyOtherProcess: undefined,
      idleQueriesPerS: undefined,
    },
    async close() {
      log.stop();
    },
  };
}
