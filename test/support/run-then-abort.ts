// Spawned by run.test.ts: runs a consumer over the memory log and a lagged stream, aborts, and
// then simply returns. The process must exit by itself: any leaked timer or listener keeps it up.
import { isExpected, newConsumer, newSpec, run } from '../../src/core/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../src/testing/index.js';

const log = newMemoryEventLog();
for (let i = 0; i < 3; i++) log.insert('x', 1);
const ac = new AbortController();
let consumed = 0;
const consumer = newConsumer('exiting', () => {
  consumed++;
  if (consumed === 3) setTimeout(() => ac.abort(), 10);
});
try {
  await run(newSpec(log.stream, new MemCursorStore(), consumer), { signal: ac.signal });
} catch (err) {
  process.stdout.write(
    `consumed ${consumed}, run rejected: ${isExpected(err) ? 'expected' : String(err)}\n`,
  );
}
const lagged = new AbortController();
const p = run(
  newSpec(
    log.stream,
    new MemCursorStore(),
    newConsumer('lagged', () => {}),
    { lag: 3_600_000 },
  ),
  {
    signal: lagged.signal,
  },
);
setTimeout(() => lagged.abort(), 10);
await p.catch(() => {});
