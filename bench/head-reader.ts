// The child process of the writer-throughput-with-wake-up rows: a stream reading at the head of
// the writers' table from another process (as a consumer service would), with the wake-up under
// test. Replies `ready`, then on `close` stops and replies with the queries its loader ran.
import { isExpected, newConsumer, newSpec, run } from '../src/core/index.js';
import { MemCursorStore } from '../src/rpatterns/index.js';
import { newEventsTable } from '../src/rsql/index.js';
import { openReaderDriver } from './backends/index.js';
import { type WakeupName, wakeupSetup } from './backends/wakeups.js';

const [backend = '', config = '{}'] = process.argv.slice(2);
const c = JSON.parse(config) as { config: unknown; table: string; wakeup: WakeupName };
const send = (m: unknown): void => {
  process.send?.(m);
};
try {
  const driver = await openReaderDriver(backend, c.config);
  const reader = driver.openReader();
  const setup = await wakeupSetup(c.wakeup, reader.db);
  const table = newEventsTable(c.table, setup.options);
  const ac = new AbortController();
  const running = run(
    newSpec(
      table.toStream(reader.db),
      new MemCursorStore(),
      newConsumer('head-reader', () => {}),
      { fromHead: true },
    ),
    { signal: ac.signal },
  ).catch((err: unknown) => {
    if (!isExpected(err)) throw err;
  });
  process.on('message', (m: { close?: boolean }) => {
    if (m.close !== true) return;
    ac.abort();
    void running
      .then(async () => {
        const queries = table.stats().queries;
        await table.close();
        await setup.close();
        await reader.close();
        await driver.close();
        send({ queries });
      })
      .finally(() => process.disconnect());
  });
  send({ ready: true });
} catch (err) {
  send({ error: String(err) });
  process.exitCode = 1;
}
