// The lease period and renewal interval every lease store takes, checked the same way, and the
// member id a process gets when it names none.
import { hostname } from 'node:os';
import { invalidArgument } from './errors.js';
import { intOption } from './options.js';

export interface LeaseTiming {
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
}

/** `leasePeriodMs` (default 5000) and `renewIntervalMs` (default a third of it), the renewal shorter. */
export function leaseTiming(options: {
  readonly leasePeriodMs?: number | undefined;
  readonly renewIntervalMs?: number | undefined;
}): LeaseTiming {
  const leasePeriodMs = intOption(options.leasePeriodMs, 'leasePeriodMs', 5000, 50, 3_600_000);
  const renewIntervalMs = intOption(
    options.renewIntervalMs,
    'renewIntervalMs',
    Math.max(1, Math.floor(leasePeriodMs / 3)),
    1,
    3_600_000,
  );
  if (renewIntervalMs >= leasePeriodMs) {
    throw invalidArgument(
      `leasePeriodMs (${leasePeriodMs}) must be longer than renewIntervalMs (${renewIntervalMs}): a lease would expire between two renewals`,
    );
  }
  return { leasePeriodMs, renewIntervalMs };
}

/** host:pid:random — unique per process, and says where a lease holder runs. */
export function defaultMemberId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}
