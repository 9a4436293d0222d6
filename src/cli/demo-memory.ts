import { isHeadReachedErr, newConsumer, newSpec, run } from '../core/index.js';
import { MemCursorStore, newMemoryEventLog } from '../testing/index.js';

/** The in-memory demo: a writer appends events, a consumer streams them with a cursor. */
export async function runMemoryDemo(count: number, print: (line: string) => void): Promise<void> {
  const log = newMemoryEventLog();
  const cursors = new MemCursorStore();
  const types = ['user.created', 'user.updated', 'user.deleted'];
  for (let i = 0; i < count; i++) log.insert(`user-${(i % 5) + 1}`, (i % 3) + 1);
  print(`wrote ${count} events to the in-memory log`);
  let consumed = 0;
  const audit = newConsumer('audit', async (e) => {
    consumed++;
    const cursor = await cursors.getCursor('audit');
    print(
      `audit  consumed event ${e.id.padStart(3)}  ${types[e.type - 1]} ${e.foreignId}  (cursor was ${cursor || '-'})`,
    );
  });
  const spec = newSpec(log.stream, cursors, audit, { toHead: true });
  await run(spec).catch((err: unknown) => {
    if (!isHeadReachedErr(err)) throw err;
  });
  const cursor = await cursors.getCursor('audit');
  print(
    `summary: written ${count}, consumed ${consumed}, cursor ${cursor}, head ${log.head()}: ${
      consumed === count && cursor === log.head() ? 'nothing lost' : 'MISMATCH'
    }`,
  );
}
