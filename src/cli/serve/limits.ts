import type { Logger } from '../../core/index.js';
import type { ServeOptions } from '../../grpc/index.js';
import { parseDuration, parsePositiveInt } from '../duration.js';
import { usageError } from '../errors.js';

/** The limit flags of `reflex serve`, as commander gives them. */
export interface LimitFlags {
  maxStreams: string;
  maxConnections?: string;
  requestTimeout: string;
  handshakeTimeout: string;
  idleTimeout: string;
  keepalive: string;
  abusiveHold: string;
}

/** The per-connection limits of the gRPC server, from the flags (docs/grpc.md, "Limits"). */
export type ServeLimits = Pick<
  ServeOptions,
  | 'maxConcurrentStreams'
  | 'maxConnections'
  | 'requestTimeoutMs'
  | 'handshakeTimeoutMs'
  | 'idleTimeoutMs'
  | 'keepaliveMs'
  | 'abusiveHoldMs'
>;

/** Adds the limit flags, with the library's defaults. */
export function limitOptions<
  C extends { option(flags: string, description: string, value?: string): C },
>(cmd: C): C {
  return cmd
    .option('--max-streams <n>', 'concurrent calls per connection; more are refused', '100')
    .option('--max-connections <n>', 'open connections at most (default: unlimited)')
    .option('--request-timeout <d>', 'time a call has to send its request', '10s')
    .option('--handshake-timeout <d>', 'time a new connection has to start its first call', '10s')
    .option('--idle-timeout <d>', 'a connection without calls this long is closed', '5m')
    .option('--keepalive <d>', 'ping each connection this often (0: never)', '60s')
    .option(
      '--abusive-hold <d>',
      'hold an abusive connection, and new ones from its address, unread this long (0: cut at once)',
      '10s',
    );
}

export function serveLimits(flags: LimitFlags): ServeLimits {
  const keepaliveMs = Math.round(parseDuration(flags.keepalive, '--keepalive'));
  if (keepaliveMs > 0 && keepaliveMs < 1000) {
    throw usageError('--keepalive must be 0 (off) or at least 1s');
  }
  return {
    maxConcurrentStreams: parsePositiveInt(flags.maxStreams, '--max-streams'),
    ...(flags.maxConnections === undefined
      ? {}
      : { maxConnections: parsePositiveInt(flags.maxConnections, '--max-connections') }),
    requestTimeoutMs: positiveDuration(flags.requestTimeout, '--request-timeout'),
    handshakeTimeoutMs: positiveDuration(flags.handshakeTimeout, '--handshake-timeout'),
    idleTimeoutMs: positiveDuration(flags.idleTimeout, '--idle-timeout'),
    keepaliveMs,
    abusiveHoldMs: parseDuration(flags.abusiveHold, '--abusive-hold'),
  };
}

function positiveDuration(text: string, flag: string): number {
  const ms = Math.round(parseDuration(text, flag));
  if (ms < 1) throw usageError(`${flag} must be at least 1ms, got ${JSON.stringify(text)}`);
  return ms;
}

/** The server's warnings and errors on stderr, one line each (a stream that failed, with its cause). */
export function stderrLogger(stderr: NodeJS.WritableStream): Logger {
  const line =
    (level: string) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      const parts = [`${level}: ${message}`];
      for (const [k, v] of Object.entries(fields ?? {})) {
        if (v === undefined) continue;
        if (v instanceof Error) {
          parts.push(`${k}=${JSON.stringify(v.message)}`);
          if (v.cause !== undefined) {
            const c = v.cause instanceof Error ? v.cause.message : String(v.cause);
            parts.push(`cause=${JSON.stringify(c)}`);
          }
        } else {
          parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
        }
      }
      stderr.write(`${parts.join(' ')}\n`);
    };
  return { debug() {}, info() {}, warn: line('warn'), error: line('error') };
}
