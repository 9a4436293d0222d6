// The gRPC server's hold of abusive connections: what it holds, how many, for how long, and the
// addresses it remembers (the server's use of it is in test/integration/grpc/hostile.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { AbuseHold } from '../../src/grpc/abuse-hold.js';
import { waitFor } from '../support/wait.js';

/** A connection stand-in: counts how often it is cut; closes like a socket. */
class Conn extends EventEmitter {
  cuts = 0;
  destroy(): void {
    this.cuts++;
    this.emit('close');
  }
}

describe('AbuseHold', () => {
  it('holds until the hold ends, then cuts once', async () => {
    const hold = new AbuseHold(50, undefined);
    const c = new Conn();
    hold.hold(c);
    assert.equal(hold.size, 1);
    assert.equal(c.cuts, 0);
    await waitFor('the hold to end', () => c.cuts > 0, 5000);
    assert.equal(c.cuts, 1);
    assert.equal(hold.size, 0);
  });

  it('holds at most 64, and at most a quarter of maxConnections; the rest are cut at once', () => {
    const wide = new AbuseHold(60_000, undefined);
    const many = Array.from({ length: 70 }, () => new Conn());
    for (const c of many) wide.hold(c);
    assert.equal(wide.size, 64);
    assert.deepEqual(
      many.map((c) => c.cuts),
      [...Array(64).fill(0), ...Array(6).fill(1)],
    );
    wide.releaseAll();
    assert.equal(wide.size, 0);
    assert.ok(many.every((c) => c.cuts === 1));

    const narrow = new AbuseHold(60_000, 8);
    const three = [new Conn(), new Conn(), new Conn()];
    for (const c of three) narrow.hold(c);
    assert.deepEqual(
      three.map((c) => c.cuts),
      [0, 0, 1],
    );
    narrow.releaseAll();
  });

  it('a held connection that closes by itself leaves the hold and is not cut again', () => {
    const hold = new AbuseHold(60_000, undefined);
    const c = new Conn();
    let cut = 0;
    hold.hold(c, () => cut++);
    c.emit('close');
    assert.equal(hold.size, 0);
    hold.releaseAll();
    assert.equal(cut, 0);
  });

  it('0 holds nothing and remembers no address', () => {
    const hold = new AbuseHold(0, undefined);
    const c = new Conn();
    hold.hold(c);
    assert.equal(c.cuts, 1);
    hold.markAbusive('127.0.0.2');
    assert.equal(hold.isPenalised('127.0.0.2'), false);
  });

  it('an abusive address is penalised for the hold, then forgiven; only IP addresses are kept, 10,000 at most', async () => {
    const hold = new AbuseHold(50, undefined);
    hold.markAbusive('127.0.0.2');
    hold.markAbusive('not an address');
    hold.markAbusive(undefined);
    assert.equal(hold.isPenalised('127.0.0.2'), true);
    assert.equal(hold.isPenalised('127.0.0.1'), false);
    assert.equal(hold.isPenalised('not an address'), false);
    await waitFor('the penalty to end', () => !hold.isPenalised('127.0.0.2'), 5000);

    const long = new AbuseHold(60_000, undefined);
    for (let i = 0; i <= 10_000; i++) long.markAbusive(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(long.isPenalised('10.0.0.0'), false, 'the oldest is forgotten first');
    assert.equal(long.isPenalised('10.0.0.1'), true);
    assert.equal(long.isPenalised('10.0.39.16'), true);
  });
});
