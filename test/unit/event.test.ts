import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  foreignIdInt,
  hasCode,
  idInt,
  isAnyType,
  isForeignIdInt,
  isIdInt,
  isType,
} from '../../src/core/index.js';
import { parseIntCursor } from '../../src/core/internal.js';

const Status = {
  active: { reflexType: () => 1 },
  closed: { reflexType: () => 2 },
} as const;

describe('event', () => {
  it('isType and isAnyType compare the integers of numbers and enum-like types', () => {
    assert.equal(isType(1, Status.active), true);
    assert.equal(isType(Status.closed, Status.active), false);
    assert.equal(isAnyType(2, 1, Status.closed), true);
    assert.equal(isAnyType(3, 1, Status.closed), false);
    assert.equal(isAnyType(3), false);
  });

  it('id helpers are exact beyond 2^53', () => {
    const big = '9223372036854775807';
    assert.equal(idInt({ id: big }), 9223372036854775807n);
    assert.equal(isIdInt({ id: big }), true);
    assert.equal(isIdInt({ id: '9223372036854775808' }), false);
    assert.equal(idInt({ id: 'abc' }), 0n);
    assert.equal(isIdInt({ id: '01' }), false);
    assert.equal(foreignIdInt({ foreignId: '9007199254740993' }), 9007199254740993n);
    assert.equal(isForeignIdInt({ foreignId: 'user-1' }), false);
  });

  it('parseIntCursor: empty is 0, junk is an invalid cursor error', () => {
    assert.equal(parseIntCursor(''), 0n);
    assert.equal(parseIntCursor('42'), 42n);
    for (const bad of ['x', '-1', '1.5', ' 1', '1e3', '99999999999999999999']) {
      assert.throws(
        () => parseIntCursor(bad),
        (err) => hasCode(err, ErrorCode.invalidCursor),
        bad,
      );
    }
  });
});
