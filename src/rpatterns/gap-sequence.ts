import { invalidArgument } from '../internal/errors.js';

/**
 * Tracks work started and finished out of order over increasing ids, and answers the highest id
 * below which everything started is finished: the position a cursor may safely move to.
 *
 * `currentMax()` is the highest value v such that every value marked `doing` up to v is `done`.
 * Values need not be consecutive (sparse ids are fine); a `done` never marked `doing` does not
 * advance it. Not thread-safe in Go terms; in Node every call is synchronous, so it is safe.
 */
export interface GapSequence {
  /** Marks `value` as started. Values should be started in increasing order. */
  doing(value: bigint | number): void;
  /** Marks `value` as finished. */
  done(value: bigint | number): void;
  /** The highest value up to which everything started is finished; `0n` initially. */
  currentMax(): bigint;
}

/**
 * Creates a {@link GapSequence} (two min-heaps: started and finished).
 *
 * @example
 * const seq = newGapSequence();
 * seq.doing(1); seq.doing(2); seq.done(2);
 * seq.currentMax(); // 0n: 1 is still in progress
 * seq.done(1);
 * seq.currentMax(); // 2n
 */
export function newGapSequence(): GapSequence {
  return new TwoHeapSequence();
}

function toBig(value: bigint | number): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value))
    throw invalidArgument(`gap sequence value ${value} is not an integer`);
  return BigInt(value);
}

class TwoHeapSequence implements GapSequence {
  readonly #doing = new MinHeap();
  readonly #done = new MinHeap();
  #max = 0n;

  doing(value: bigint | number): void {
    this.#doing.push(toBig(value));
    this.#settle();
  }

  done(value: bigint | number): void {
    this.#done.push(toBig(value));
    this.#settle();
  }

  currentMax(): bigint {
    return this.#max;
  }

  #settle(): void {
    for (;;) {
      const a = this.#doing.peek();
      const b = this.#done.peek();
      if (a === undefined || b === undefined) return;
      if (b < a) {
        // Finished but never started (or finished twice): it can never match, drop it.
        this.#done.pop();
      } else if (a === b) {
        this.#doing.pop();
        this.#done.pop();
        if (a > this.#max) this.#max = a;
      } else {
        return;
      }
    }
  }
}

class MinHeap {
  readonly #items: bigint[] = [];

  peek(): bigint | undefined {
    return this.#items[0];
  }

  push(v: bigint): void {
    const a = this.#items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pv = a[p] as bigint;
      if (pv <= v) break;
      a[i] = pv;
      i = p;
    }
    a[i] = v;
  }

  pop(): bigint | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] as bigint) < (a[l] as bigint) ? r : l;
      if ((a[c] as bigint) >= last) break;
      a[i] = a[c] as bigint;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
