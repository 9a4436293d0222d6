import { invalidArgument } from './errors.js';

// Shared by rsql and the CLI, so a name the command line accepts is one the tables accept.
const identifierPattern = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/**
 * Checks an SQL identifier (a table or column name, optionally `schema.name` for tables):
 * letters, digits, `_` and `$`, starting with a letter or `_`, at most 63 characters per part.
 * Returns it unchanged; anything else is an `ERR_REFLEX_INVALID_ARGUMENT` error. Dialects quote
 * the result, so reserved words (`type`, `timestamp`) are fine.
 */
export function validateIdentifier(name: unknown, what: string, qualified = false): string {
  if (typeof name !== 'string') {
    throw invalidArgument(`${what} must be a string, got ${typeof name}`);
  }
  const parts = qualified ? name.split('.') : [name];
  if (parts.length > 2 || !parts.every((p) => identifierPattern.test(p))) {
    throw invalidArgument(
      `invalid ${what} ${JSON.stringify(name)}: want letters, digits, _ or $ (max 63), starting with a letter or _`,
    );
  }
  return name;
}

/** Quotes each dot-separated part of a validated identifier with `q`. */
export function quoteParts(identifier: string, q: string): string {
  return identifier
    .split('.')
    .map((p) => `${q}${p}${q}`)
    .join('.');
}

/** SQLite's current time as INTEGER ms since the epoch, as rsql writes its timestamps. */
export const sqliteNowMs = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";
