import type { ConsumerState } from './snapshot.js';

/** What {@link consumerState} decides from, times in ms since the epoch. */
export interface StateInput {
  readonly now: number;
  /** Timestamp of the oldest event the consumer has not consumed; null when it is caught up. */
  readonly oldestUnconsumedAt: number | null;
  /** When its cursor last moved, as far as anyone knows (the row's update time, or seen moving); null when unknown. */
  readonly lastMovedAt: number | null;
  /** When this monitor first saw the consumer (the stall's lower bound when nothing else is known). */
  readonly firstSeenAt: number;
  /** When its last error was recorded; null when it has none. */
  readonly lastErrorAt: number | null;
  readonly stalledAfterMs: number;
  readonly errorWindowMs: number;
}

/**
 * A consumer's state: erroring when an error was recorded within `errorWindowMs`; otherwise,
 * when events wait for it, stalled once neither its cursor moved nor it was caught up for
 * `stalledAfterMs` (since the later of the two), moving before that; caught up when none wait.
 */
export function consumerState(input: StateInput): { state: ConsumerState; since: number | null } {
  const { now } = input;
  if (input.lastErrorAt !== null && now - input.lastErrorAt <= input.errorWindowMs) {
    return { state: 'erroring', since: input.lastErrorAt };
  }
  if (input.oldestUnconsumedAt === null) return { state: 'caught-up', since: null };
  // Waiting since it last moved or since an event came for it, whichever is later: a consumer
  // idle for a day is not "stalled for a day" when the first event for it came a second ago.
  const waitingSince = Math.max(input.lastMovedAt ?? input.firstSeenAt, input.oldestUnconsumedAt);
  if (now - waitingSince >= input.stalledAfterMs) return { state: 'stalled', since: waitingSince };
  return { state: 'moving', since: null };
}

/** A series of (time, value) samples of a counter: a head or a cursor. */
export interface Sample {
  readonly t: number;
  readonly v: number;
}

/**
 * Per-second rates of a counter over `buckets` equal buckets ending at `now`, oldest first; a
 * bucket without a sample on both ends is 0, and a counter going back (a reset cursor) counts 0.
 */
export function bucketRates(
  samples: readonly Sample[],
  now: number,
  bucketMs: number,
  buckets: number,
): number[] {
  /** The last sample at or before `t`, else the first one after it (a young series). */
  const sampleAt = (t: number): Sample | undefined => {
    let found: Sample | undefined;
    for (const s of samples) {
      if (s.t > t) return found ?? s;
      found = s;
    }
    return found;
  };
  const out: number[] = [];
  for (let k = 0; k < buckets; k++) {
    const start = sampleAt(now - (buckets - k) * bucketMs);
    const end = sampleAt(now - (buckets - k - 1) * bucketMs);
    out.push(
      start === undefined || end === undefined || end.t <= start.t
        ? 0
        : round2((Math.max(0, end.v - start.v) * 1000) / (end.t - start.t)),
    );
  }
  return out;
}

/** The rate over the samples of the last `windowMs`; null with fewer than two samples. */
export function recentRate(samples: readonly Sample[], windowMs: number): number | null {
  const last = samples[samples.length - 1];
  if (last === undefined) return null;
  let first: Sample | undefined;
  for (const s of samples) {
    if (s.t >= last.t - windowMs) {
      first = s;
      break;
    }
  }
  if (first === undefined || first.t === last.t) return null;
  return round2((Math.max(0, last.v - first.v) * 1000) / (last.t - first.t));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
