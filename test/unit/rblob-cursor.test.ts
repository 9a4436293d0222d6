import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, hasCode } from '../../src/core/index.js';
import { type BlobCursor, formatBlobCursor, parseBlobCursor } from '../../src/rblob/index.js';

describe('rblob cursors', () => {
  it('round-trip in the original format', () => {
    const cases: [BlobCursor, string][] = [
      [{ key: 'path/f', eof: false, offset: 0 }, 'path/f|01|0'],
      [{ key: 'path/f', eof: false, offset: 9 }, 'path/f|01|9'],
      [{ key: 'path/f', eof: false, offset: 10 }, 'path/f|02|10'],
      [{ key: 'path/f', eof: false, offset: 123456789012 }, 'path/f|12|123456789012'],
      [{ key: 'path/f', eof: true }, 'path/f|eof'],
      [{ key: 'a|b', eof: false, offset: 3 }, 'a|b|01|3'],
      [{ key: '', eof: true }, '|eof'],
    ];
    for (const [cursor, text] of cases) {
      assert.equal(formatBlobCursor(cursor), text);
      assert.deepEqual(parseBlobCursor(text), cursor);
    }
  });

  it('sort in stream order', () => {
    const inOrder: BlobCursor[] = [
      { key: '2026/11/28/13/a', eof: false, offset: 0 },
      { key: '2026/11/28/13/a', eof: false, offset: 1 },
      { key: '2026/11/28/13/a', eof: false, offset: 9 },
      { key: '2026/11/28/13/a', eof: false, offset: 10 },
      { key: '2026/11/28/13/a', eof: false, offset: 99 },
      { key: '2026/11/28/13/a', eof: false, offset: 100 },
      { key: '2026/11/28/13/a', eof: false, offset: 1_000_000 },
      { key: '2026/11/28/13/a', eof: true },
      { key: '2026/11/28/13/b', eof: false, offset: 0 },
      { key: '2026/11/28/13/b', eof: true },
      { key: '2026/11/28/14/a', eof: false, offset: 5 },
    ];
    const texts = inOrder.map(formatBlobCursor);
    assert.deepEqual([...texts].sort(), texts);
    assert.deepEqual([...texts].reverse().sort(), texts);
  });

  it('parse the legacy key|offset form', () => {
    assert.deepEqual(parseBlobCursor('file|123'), { key: 'file', eof: false, offset: 123 });
    assert.deepEqual(parseBlobCursor('a/b|0'), { key: 'a/b', eof: false, offset: 0 });
    // A width that does not match the digits is not the new form.
    assert.deepEqual(parseBlobCursor('a|03|12'), { key: 'a|03', eof: false, offset: 12 });
  });

  it('take any prefix|eof as a start point', () => {
    assert.deepEqual(parseBlobCursor('2020|eof'), { key: '2020', eof: true });
  });

  it('refuse malformed cursors with ERR_REFLEX_INVALID_CURSOR', () => {
    for (const bad of [
      '',
      'nokey',
      'a|',
      'a|-1',
      'a|1.5',
      'a|01',
      'a|x',
      'a|EOF',
      'a|99999999999999999999',
    ]) {
      assert.throws(
        () => parseBlobCursor(bad),
        (e) => hasCode(e, ErrorCode.invalidCursor) && String(e).includes(JSON.stringify(bad)),
        bad,
      );
    }
  });

  it('refuse a bad offset when formatting', () => {
    assert.throws(
      () => formatBlobCursor({ key: 'a', eof: false, offset: -1 }),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    assert.throws(
      () => formatBlobCursor({ key: 'a', eof: false, offset: 1.5 }),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
  });
});
