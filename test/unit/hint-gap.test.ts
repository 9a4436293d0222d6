import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HINT_GAP_MAX_MS, HINT_GAP_MS, HintGap } from '../../src/rsql/hint-gap.js';

/** A gap on a clock the test moves; `rate` hints per ms, each acted on when its wait is over. */
function drive(gap: HintGap, clock: { t: number }, perMs: number, ms: number): number {
  let acts = 0;
  const step = 1 / perMs;
  for (let i = 0; i < ms * perMs; i++) {
    clock.t += step;
    gap.hinted();
    if (gap.wait() <= 0) {
      gap.acted();
      acts++;
    }
  }
  return acts;
}

describe('HintGap', () => {
  it('stays at its least while hints are sparse: none is deferred', () => {
    const clock = { t: 0 };
    const gap = new HintGap({ now: () => clock.t });
    assert.equal(gap.ms, HINT_GAP_MS);
    for (let i = 0; i < 100; i++) {
      clock.t += 10; // 100 hints/s, the full bench's latency rows
      gap.hinted();
      assert.ok(gap.wait() <= 0, 'acted on at once');
      gap.acted();
      assert.equal(gap.ms, HINT_GAP_MS);
    }
  });

  it('widens in proportion to a sustained rate above one hint per least gap, up to its most', () => {
    const clock = { t: 0 };
    const gap = new HintGap({ now: () => clock.t });
    drive(gap, clock, 0.4, 200); // 400 hints/s
    assert.ok(gap.ms > 9 && gap.ms < 11, `about 10 ms at 400/s (${gap.ms})`);
    const acts = drive(gap, clock, 4, 1000); // 4,000 hints/s for a second
    assert.equal(gap.ms, HINT_GAP_MAX_MS);
    assert.ok(acts <= 1000 / HINT_GAP_MAX_MS + 1, `one act per widest gap (${acts})`);
  });

  it('the first hint after a quiet spell is acted on at once and narrows the gap back', () => {
    const clock = { t: 0 };
    const gap = new HintGap({ now: () => clock.t });
    drive(gap, clock, 4, 200);
    assert.equal(gap.ms, HINT_GAP_MAX_MS);
    clock.t += 1000;
    gap.hinted();
    assert.ok(gap.wait() <= 0);
    gap.acted();
    assert.equal(gap.ms, HINT_GAP_MS);
  });

  it('a gap with equal bounds never moves', () => {
    const clock = { t: 0 };
    const gap = new HintGap({ minMs: 7, maxMs: 7, now: () => clock.t });
    drive(gap, clock, 4, 100);
    assert.equal(gap.ms, 7);
  });
});
