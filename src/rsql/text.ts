import { invalidArgument } from '../internal/errors.js';
import { isWellFormed } from '../internal/well-formed.js';

/**
 * Refuses a string with a lone surrogate (not well-formed UTF-16): every driver would store it as
 * U+FFFD, so two consumer names would share a row and a foreign id would come back changed.
 */
export function requireWellFormed(value: string, what: string): string {
  if (!isWellFormed(value)) {
    throw invalidArgument(
      `${what} ${JSON.stringify(value)} holds a lone surrogate (not well-formed UTF-16): it cannot be stored exactly`,
    );
  }
  return value;
}

/**
 * Checks a string that names a row (a consumer name, an event id): a non-empty, well-formed
 * string of at most 255 characters.
 */
export function checkRowName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 255) {
    throw invalidArgument(`${what} must be a non-empty string of at most 255 characters`);
  }
  return requireWellFormed(value, what);
}
