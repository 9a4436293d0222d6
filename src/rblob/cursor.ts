import { ErrorCode, ReflexError } from '../core/index.js';

/**
 * A position in a bucket stream: after record `offset` (0-based) of blob `key`, or after the
 * whole blob `key` when `eof` is true.
 */
export type BlobCursor =
  | { readonly key: string; readonly eof: true }
  | { readonly key: string; readonly eof: false; readonly offset: number };

const eofTail = 'eof';

/**
 * The cursor string of a position, in the original's format: `<key>|<NN>|<offset>` (NN = the
 * number of digits of offset, zero-padded to 2) or `<key>|eof`. Within one blob these sort in
 * stream order (`k|01|9` < `k|02|10` < `k|eof`); across blobs too, as long as no key is a proper
 * prefix of another key (`|` sorts after `/`, letters and digits).
 *
 * @example
 * formatBlobCursor({ key: '2026/11/28/13/a', eof: false, offset: 10 }); // '2026/11/28/13/a|02|10'
 */
export function formatBlobCursor(cursor: BlobCursor): string {
  if (cursor.eof) return `${cursor.key}|${eofTail}`;
  if (!Number.isSafeInteger(cursor.offset) || cursor.offset < 0) {
    throw new ReflexError(
      ErrorCode.invalidArgument,
      `blob cursor offset must be an integer ≥ 0, got ${cursor.offset}`,
    );
  }
  const digits = String(cursor.offset);
  if (digits.length > 99) throw new ReflexError(ErrorCode.invalidArgument, 'offset too large');
  return `${cursor.key}|${String(digits.length).padStart(2, '0')}|${digits}`;
}

const digitsPattern = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a cursor string made by {@link formatBlobCursor}, or the legacy `<key>|<offset>` form.
 * Any `<prefix>|eof` is a valid synthetic start point: the stream continues with the first key
 * sorting after `<prefix>`. Throws `ERR_REFLEX_INVALID_CURSOR` for anything else.
 *
 * @example
 * parseBlobCursor('a/b|01|9');  // { key: 'a/b', eof: false, offset: 9 }
 * parseBlobCursor('a/b|eof');   // { key: 'a/b', eof: true }
 * parseBlobCursor('a/b|123');   // legacy: { key: 'a/b', eof: false, offset: 123 }
 */
export function parseBlobCursor(cursor: string): BlobCursor {
  const bad = (why: string): ReflexError =>
    new ReflexError(
      ErrorCode.invalidCursor,
      `invalid blob cursor ${JSON.stringify(cursor)}: ${why}`,
    );
  const last = cursor.lastIndexOf('|');
  if (last < 0) throw bad('expected <key>|<NN>|<offset> or <key>|eof');
  const tail = cursor.slice(last + 1);
  const head = cursor.slice(0, last);
  if (tail === eofTail) return { key: head, eof: true };
  if (!digitsPattern.test(tail)) throw bad('the offset is not a decimal integer');
  const offset = Number(tail);
  if (!Number.isSafeInteger(offset)) throw bad('the offset is too large');
  const mid = head.lastIndexOf('|');
  if (mid >= 0) {
    const width = head.slice(mid + 1);
    if (/^[0-9]{2}$/.test(width) && Number(width) === tail.length) {
      return { key: head.slice(0, mid), eof: false, offset };
    }
  }
  // The legacy form `<key>|<offset>`.
  return { key: head, eof: false, offset };
}
