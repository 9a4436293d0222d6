import { usageError } from './errors.js';

const units: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration of the command line into ms: `500ms`, `2s`, `1.5m`, `1h`, `30d`, or a plain number of
 * seconds. Throws a usage error naming the option otherwise.
 */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) {
    throw usageError(
      `${option} must be a duration like 500ms, 2s, 1m, 1h or 30d, got ${JSON.stringify(text)}`,
    );
  }
  const value = Number(match[1]);
  const ms = value * (units[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms)) throw usageError(`${option} is too large: ${text}`);
  return Math.round(ms);
}

/** Parses a positive integer option. */
export function parsePositiveInt(text: string, option: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw usageError(`${option} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Parses a TCP port (0 = any free port). */
export function parsePort(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > 65535) {
    throw usageError(`${option} must be a port number 0-65535, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Formats ms for people: `850ms`, `2.5s`, `3m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
