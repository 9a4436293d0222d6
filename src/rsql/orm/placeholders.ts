import type { SqlValue } from '../dialect.js';
import type { DialectName } from './types.js';

/**
 * A statement cut at its placeholders: `strings[i]` comes before the i-th placeholder, which
 * takes `params[order[i]]`. Tools that write their own placeholders (Drizzle's `sql`, knex's `?`)
 * rebuild the statement from it.
 */
export interface SplitStatement {
  readonly strings: readonly string[];
  readonly order: readonly number[];
}

const cache = new Map<string, SplitStatement>();
const MAX_CACHED = 256;

/**
 * Cuts `sql` at its placeholders (`?` for mysql/sqlite, `$n` for postgres), outside quoted
 * identifiers and string literals. The statements are the tables' own (a handful per table), so
 * the result is cached by text.
 */
export function splitPlaceholders(sql: string, dialect: DialectName): SplitStatement {
  const key = `${dialect}\0${sql}`;
  let s = cache.get(key);
  if (s === undefined) {
    s = split(sql, dialect);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, s);
  }
  return s;
}

function split(sql: string, dialect: DialectName): SplitStatement {
  const strings: string[] = [];
  const order: number[] = [];
  let start = 0;
  let quote = '';
  let next = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote !== '') {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === '`' || c === "'") {
      quote = c;
    } else if (dialect !== 'postgres' && c === '?') {
      strings.push(sql.slice(start, i));
      order.push(next++);
      start = i + 1;
    } else if (dialect === 'postgres' && c === '$') {
      let j = i + 1;
      while (j < sql.length && sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) j++;
      if (j > i + 1) {
        strings.push(sql.slice(start, i));
        order.push(Number(sql.slice(i + 1, j)) - 1);
        start = j;
        i = j - 1;
      }
    }
  }
  strings.push(sql.slice(start));
  return { strings, order };
}

/** The parameters in placeholder order (a `$n` used twice is bound twice). */
export function orderedParams(s: SplitStatement, params: readonly SqlValue[]): unknown[] {
  return s.order.map((i) => bindable(params[i] ?? null));
}

/**
 * A parameter as every driver binds it: a Uint8Array as a Buffer over the same memory
 * (better-sqlite3 binds only Buffers), a bigint as its decimal text.
 */
export function bindable(v: SqlValue): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) {
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Every parameter made bindable (see {@link bindable}). */
export function bindableParams(params: readonly SqlValue[] | undefined): unknown[] {
  return params === undefined ? [] : params.map(bindable);
}
