/**
 * Runs `fn` after every earlier call on the same `key` has settled. Transactions of this library
 * on one connection (a SQLite database, a mysql2 Connection, a pg Client) must not overlap: a
 * second BEGIN would fail, commit the first one, or pull its statements into it.
 */
export function oneAtATime<T>(key: object, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(fn);
  const tail = next.catch(() => {});
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return next;
}

const queues = new WeakMap<object, Promise<unknown>>();
