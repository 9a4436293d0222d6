import assert from 'node:assert/strict';

/** Thirty days in ms: beyond what one Node timer holds (2^31 − 1 ms, which fires after 1 ms). */
export const thirtyDaysMs = 30 * 24 * 3_600_000;

/**
 * Asserts that `promise` has not settled after a real `windowMs` timer. Timers fire in order of
 * their due time, so a 30-day delay that Node overflowed to 1 ms settles before the window ends:
 * the window only has to be longer than that overflow, not than any work.
 */
export async function assertStillPending(
  promise: Promise<unknown>,
  what: string,
  windowMs = 50,
): Promise<void> {
  let settledAs: string | undefined;
  promise.then(
    () => {
      settledAs = 'resolved';
    },
    (err: unknown) => {
      settledAs = `rejected (${String(err)})`;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  assert.equal(settledAs, undefined, `${what} settled within ${windowMs} ms: ${settledAs}`);
}
