// The child process of the cross-process head latency probe: opens the backend's writer, then
// writes one event per {id} message (replying with the wall time taken just before COMMIT) until
// told to close.
import { openWriter } from './backends/index.js';

const [backend = '', config = '{}'] = process.argv.slice(2);
const send = (m: unknown): void => {
  process.send?.(m);
};
try {
  const writer = await openWriter(backend, JSON.parse(config) as unknown);
  process.on('message', (m: { id?: string; close?: boolean }) => {
    if (m.close === true) {
      void writer.close().finally(() => process.disconnect());
      return;
    }
    if (m.id !== undefined) {
      const id = m.id;
      writer.write(id).then(
        (t) => send({ id, t }),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
    }
  });
  send({ ready: true });
} catch (err) {
  send({ error: String(err) });
  process.exitCode = 1;
}
