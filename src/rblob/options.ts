import { invalidArgument } from '../internal/errors.js';

/** Refuses a non-object and any key not in `known`, naming `what`. */
export function checkOptions(what: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`${what} options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw invalidArgument(`unknown ${what} option ${JSON.stringify(key)}`);
  }
}
