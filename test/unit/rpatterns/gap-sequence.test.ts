import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newGapSequence } from '../../../src/rpatterns/index.js';

type Step = ['doing' | 'done', number];

describe('gap sequence', () => {
  const cases: { name: string; steps: Step[]; want: bigint }[] = [
    { name: 'initial max is 0', steps: [], want: 0n },
    { name: 'doing alone does not advance', steps: [['doing', 1]], want: 0n },
    {
      name: 'doing then done advances',
      steps: [
        ['doing', 1],
        ['done', 1],
      ],
      want: 1n,
    },
    {
      name: 'waits for a lower doing',
      steps: [
        ['doing', 1],
        ['doing', 2],
        ['done', 2],
      ],
      want: 0n,
    },
    {
      name: 'out-of-order done',
      steps: [
        ['doing', 1],
        ['doing', 2],
        ['doing', 3],
        ['done', 3],
        ['done', 1],
        ['done', 2],
      ],
      want: 3n,
    },
    {
      name: 'partially done',
      steps: [
        ['doing', 1],
        ['doing', 2],
        ['doing', 3],
        ['done', 1],
        ['done', 3],
      ],
      want: 1n,
    },
    {
      name: 'sparse ids',
      steps: [
        ['doing', 10],
        ['doing', 25],
        ['doing', 70],
        ['done', 25],
        ['done', 10],
        ['done', 70],
      ],
      want: 70n,
    },
    {
      name: 'a done never doing does not advance nor block',
      steps: [
        ['done', 5],
        ['doing', 7],
        ['done', 7],
      ],
      want: 7n,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const seq = newGapSequence();
      for (const [op, v] of c.steps) seq[op](v);
      assert.equal(seq.currentMax(), c.want);
    });
  }

  it('10 000 in flight: finishing the two lowest jumps the max to 20 000', () => {
    const seq = newGapSequence();
    for (let i = 1; i <= 10_000; i++) seq.doing(i * 2);
    for (let i = 10_000; i >= 3; i--) seq.done(i * 2);
    assert.equal(seq.currentMax(), 0n);
    seq.done(4);
    assert.equal(seq.currentMax(), 0n);
    seq.done(2);
    assert.equal(seq.currentMax(), 20_000n);
  });

  it('refuses a non-integer', () => {
    assert.throws(() => newGapSequence().doing(1.5), { code: 'ERR_REFLEX_INVALID_ARGUMENT' });
  });
});
