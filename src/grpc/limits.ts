// The resource limits and keepalive settings of the gRPC server and client: their defaults in one
// frozen object each, resolved and checked once, with a clear ERR_REFLEX_INVALID_ARGUMENT per bad value.
import { invalidArgument } from '../internal/errors.js';
import { intOption } from '../internal/options.js';

/** Per-connection limits and keepalive of a server (the members of ServeOptions they come from). */
export interface ServerLimits {
  /** Concurrent calls per connection, advertised in HTTP/2 SETTINGS; streams beyond are refused. */
  readonly maxConcurrentStreams: number;
  /** Open connections at most; further connections are closed at once. Unlimited when undefined. */
  readonly maxConnections: number | undefined;
  /** How long a call may take to send its request message, from its headers. */
  readonly requestTimeoutMs: number;
  /** How long a new connection may take to start its first call (TLS handshake included). */
  readonly handshakeTimeoutMs: number;
  /** How long a connection may stay without a call before it is closed (GOAWAY). */
  readonly idleTimeoutMs: number;
  /** A PING goes to each connection this often; 0 turns server keepalive off. */
  readonly keepaliveMs: number;
  /** A PING not acknowledged within this closes the connection. */
  readonly keepaliveTimeoutMs: number;
  /** Client PINGs closer together than this are strikes; the third closes the connection. */
  readonly minPingIntervalMs: number;
  /** Streams a connection may reset at once (a burst) before the refill rate applies. */
  readonly maxResetBurst: number;
  /** Resets per second a connection earns back; beyond burst and rate it gets GOAWAY. */
  readonly maxResetRate: number;
  /**
   * How long a connection told to go away for abuse, and any new connection from its address
   * meanwhile, is held open and unread before it is closed; 0 closes it at once.
   */
  readonly abusiveHoldMs: number;
}

/** Keepalive and idle settings of a client. */
export interface ClientLimits {
  /** A PING goes out after this long without a frame from the server, while calls are open; 0: off. */
  readonly keepaliveMs: number;
  /** A PING not acknowledged within this fails the connection's calls with ERR_REFLEX_UNAVAILABLE. */
  readonly keepaliveTimeoutMs: number;
  /** A connection without calls for this long is closed. */
  readonly idleTimeoutMs: number;
}

/** The server defaults (docs/grpc.md explains each). */
export const serverLimitDefaults: ServerLimits = Object.freeze({
  maxConcurrentStreams: 100,
  maxConnections: undefined,
  requestTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  keepaliveMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  minPingIntervalMs: 10_000,
  maxResetBurst: 200,
  maxResetRate: 20,
  abusiveHoldMs: 10_000,
});

/** The client defaults: pings well inside the server's minimum interval. */
export const clientLimitDefaults: ClientLimits = Object.freeze({
  keepaliveMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
});

/** The option keys of each set, for the unknown-option checks of serve and the client. */
export const serverLimitKeys: readonly string[] = Object.freeze(Object.keys(serverLimitDefaults));
export const clientLimitKeys: readonly string[] = Object.freeze(Object.keys(clientLimitDefaults));

/** Timers take at most 2^31−1 ms; longer settings are almost certainly a unit mistake. */
const maxMs = 2_147_483_647;

function pick<T extends object>(
  defaults: T,
  options: Readonly<Record<string, unknown>>,
  check: (key: keyof T & string, value: unknown) => unknown,
): T {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const v = options[key];
    if (v !== undefined) out[key] = check(key, v);
  }
  return Object.freeze(out) as T;
}

/** The server's limits from its options (the other members are ignored), checked. */
export function resolveServerLimits(options: Readonly<Record<string, unknown>>): ServerLimits {
  const limits = pick(serverLimitDefaults, options, (key, v) => {
    switch (key) {
      case 'maxConcurrentStreams':
      case 'maxConnections':
      case 'maxResetBurst':
      case 'maxResetRate':
        // HTTP/2 SETTINGS carry 31 bits.
        return intOption(v, key, 0, 1, 2 ** 31 - 1);
      case 'keepaliveMs':
      case 'minPingIntervalMs':
      case 'abusiveHoldMs':
        return intOption(v, key, 0, 0, maxMs);
      default:
        return intOption(v, key, 0, 1, maxMs);
    }
  });
  if (limits.keepaliveMs > 0 && limits.keepaliveMs < 1000) {
    throw invalidArgument(`keepaliveMs must be 0 (off) or ≥ 1000 ms, got ${limits.keepaliveMs}`);
  }
  return limits;
}

/** The client's limits from its options (the other members are ignored), checked. */
export function resolveClientLimits(options: Readonly<Record<string, unknown>>): ClientLimits {
  return pick(clientLimitDefaults, options, (key, v) =>
    intOption(v, key, 0, key === 'keepaliveMs' ? 0 : 1, maxMs),
  );
}
