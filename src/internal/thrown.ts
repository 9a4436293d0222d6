/**
 * A message for any thrown value that never throws itself: an Error's message, else `String(v)`,
 * else a tag. A thrown `Object.create(null)`, a throwing `message` getter or a revoked proxy
 * must still become a coded error, not a TypeError raised while describing it.
 */
export function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error) {
      const message: unknown = err.message;
      if (typeof message === 'string') return message;
    }
  } catch {
    // a throwing getter or proxy trap: described below by its type
  }
  try {
    return String(err);
  } catch {
    // no usable toString (a null-prototype object) or a throwing one
  }
  try {
    return Object.prototype.toString.call(err);
  } catch {
    return `a thrown ${typeof err}`;
  }
}
