import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyPgError, pgTypes } from '../../src/rsql/postgres/driver.js';
import { decodePgId, decodePgTimestamp, postgresDialect } from '../../src/rsql/postgres/index.js';
import {
  inWaitSet,
  isEmptyWaitSet,
  nextXidBound,
  parseSnapshot,
  stillRunning,
  waitSetOf,
} from '../../src/rsql/postgres/xids.js';

describe('postgres xids', () => {
  it('parses pg_snapshot text', () => {
    assert.deepEqual(parseSnapshot('10:20:12,15'), { xmin: 10n, xmax: 20n, xip: [12n, 15n] });
    assert.deepEqual(parseSnapshot('7:7:'), { xmin: 7n, xmax: 7n, xip: [] });
    assert.throws(() => parseSnapshot('1:2'));
  });

  it('widens the 32-bit age() to the next xid across epochs and int4 wrap', () => {
    // next xid 727, age measured from xid 3: 724
    assert.equal(nextXidBound(727n, 724), 727n);
    assert.equal(nextXidBound(720n, 724), 727n);
    // epoch 5: xmax = 5·2^32 + 100, next xid = 5·2^32 + 130
    const e5 = 5n << 32n;
    assert.equal(nextXidBound(e5 + 100n, 127), e5 + 130n);
    // the 32-bit next xid wrapped past 2^32 while xmax did not: next = 6·2^32 + 2
    assert.equal(nextXidBound(e5 + 0xffff_fff0n, -1 /* (2 - 3) as int4 */), (6n << 32n) + 2n);
    // age above 2^31 comes back negative from int4
    const next32 = 0x9000_0000n;
    const age = Number(BigInt.asIntN(32, next32 - 3n));
    assert.ok(age < 0);
    assert.equal(nextXidBound(e5 + 0x8fff_ff00n, age), e5 + next32);
  });

  it('a wait set holds xip and [xmax, bound); a later snapshot drops the finished members only', () => {
    const s1 = parseSnapshot('100:110:103,107');
    const w = waitSetOf(s1, 113n);
    for (const x of [103n, 107n, 110n, 111n, 112n]) assert.ok(inWaitSet(w, x), String(x));
    for (const x of [100n, 104n, 113n]) assert.ok(!inWaitSet(w, x), String(x));
    // Later: 103 finished, 107 runs, 110 finished, 111 runs (listed), 112 at or above xmax.
    const w2 = stillRunning(w, parseSnapshot('105:112:107,111'));
    assert.ok(!isEmptyWaitSet(w2));
    assert.deepEqual(
      [103n, 107n, 110n, 111n, 112n].filter((x) => inWaitSet(w2, x)),
      [107n, 111n, 112n],
    );
    const w3 = stillRunning(w2, parseSnapshot('120:130:125'));
    assert.ok(isEmptyWaitSet(w3));
    // A new transaction is never added.
    assert.ok(!inWaitSet(w3, 125n));
  });
});

describe('postgres decoding', () => {
  it('ids are exact safe integers (NaN otherwise)', () => {
    assert.equal(decodePgId('9007199254740991'), 9007199254740991);
    assert.ok(Number.isNaN(decodePgId('9007199254740993')));
    assert.ok(Number.isNaN(decodePgId(null)));
  });

  it('reads timestamps selected as microseconds since the epoch into a Date (floored to the ms); infinity is an invalid Date', () => {
    const at = Date.UTC(2026, 10, 28, 6, 20, 0, 123);
    assert.equal(decodePgTimestamp(String(at * 1000 + 456)).getTime(), at);
    assert.equal(decodePgTimestamp('-877000').getTime(), -877);
    assert.equal(decodePgTimestamp('-877001').getTime(), -878, 'floored, not truncated');
    assert.equal(decodePgTimestamp(at * 1000).getTime(), at);
    for (const bad of ['Infinity', '-Infinity', 'NaN', '', null, undefined]) {
      assert.ok(Number.isNaN(decodePgTimestamp(bad).getTime()), String(bad));
    }
  });

  it('bytea hex and escape formats become bytes; int4 numbers; the rest stays text', () => {
    assert.deepEqual([...(pgTypes.getTypeParser(17)('\\x00ff10') as Buffer)], [0, 255, 16]);
    assert.deepEqual([...(pgTypes.getTypeParser(17)('a\\\\\\001') as Buffer)], [97, 92, 1]);
    assert.equal(pgTypes.getTypeParser(23)('42'), 42);
    assert.equal(pgTypes.getTypeParser(20)('9007199254740993'), '9007199254740993');
  });

  it('accepts pg pools and clients only (by shape)', () => {
    assert.ok(postgresDialect.accepts({ query() {}, connect() {}, options: {} }));
    assert.ok(postgresDialect.accepts({ query() {}, connectionParameters: {} }));
    assert.ok(!postgresDialect.accepts({ query() {}, execute() {}, getConnection() {}, pool: {} }));
    assert.ok(!postgresDialect.accepts({ prepare() {}, transaction() {}, pragma() {} }));
    assert.ok(!postgresDialect.accepts(null));
  });
});

describe('postgres error classes', () => {
  it("a connection lost mid-statement (pg's uncoded errors) is 'closed', like the SQLSTATEs of a shutdown", () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated',
      'Connection terminated due to connection timeout',
      'Client has encountered a connection error and is not queryable',
    ]) {
      assert.equal(classifyPgError(new Error(message)), 'closed', message);
    }
    const coded = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ['57P01', '57P03', '08006', 'ECONNREFUSED']) {
      assert.equal(classifyPgError(coded(code)), 'closed', code);
    }
    assert.equal(classifyPgError(new Error('syntax error at or near "x"')), undefined);
    assert.equal(classifyPgError(coded('42601')), undefined);
  });
});
