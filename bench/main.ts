// npm run bench: measures reflex-events side by side with a baseline in the same run.
// This first benchmark streams the in-memory log through run; later ones add the SQL backends.
import { performance } from 'node:perf_hooks';
import { isHeadReachedErr, newConsumer, newSpec, run } from '../src/core/index.js';
import { MemCursorStore, newMemoryEventLog } from '../src/testing/index.js';

const count = Number(process.argv.find((a) => a.startsWith('--events='))?.slice(9) ?? 200_000);
const log = newMemoryEventLog();
for (let i = 0; i < count; i++) log.insert(String(i), 1);

let sink = 0;
const t0 = performance.now();
for (const e of log.events) sink += e.type;
const rawMs = performance.now() - t0;

const t1 = performance.now();
await run(
  newSpec(
    log.stream,
    new MemCursorStore(),
    newConsumer('bench', (e) => {
      sink += e.type;
    }),
    { toHead: true },
  ),
).catch((err: unknown) => {
  if (!isHeadReachedErr(err)) throw err;
});
const runMs = performance.now() - t1;
const perSec = (ms: number): string => `${Math.round((count / ms) * 1000).toLocaleString('en')}/s`;
console.log(
  `memory log, ${count} events: run ${perSec(runMs)}, raw array loop ${perSec(rawMs)} (sink ${sink})`,
);
