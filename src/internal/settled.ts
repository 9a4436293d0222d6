/**
 * One already-resolved promise, returned by this library's `consume` and `setCursor` when they
 * finished synchronously. `run` recognises it by identity and skips the await: a catch-up then
 * costs no promise and no microtask per event for work that was done in place.
 */
export const settled: Promise<void> = Promise.resolve();
