import { timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { invalidArgument } from '../internal/errors.js';

/** What an {@link Authenticator} knows about an incoming call. */
export interface CallInfo {
  /** The full method, e.g. `/reflexpb.Reflex/Stream`. */
  readonly method: string;
  /** The remote address, as `ip:port`. */
  readonly peer: string;
  /** The first value of a request header (lower-case key), e.g. `authorization`; undefined when absent. */
  header(key: string): string | undefined;
  /** The client's TLS certificate, when the server asks for one (`tls.requireClientCert`). */
  readonly peerCertificate?: PeerCertificate;
}

/**
 * Decides whether a call may stream, before the stream is opened: `true` lets it through; `false`
 * ends it with UNAUTHENTICATED (code `ERR_REFLEX_UNAUTHENTICATED` at the client); throwing a
 * ReflexError with code `ERR_REFLEX_PERMISSION_DENIED` ends it with PERMISSION_DENIED. Any other
 * throw counts as UNAUTHENTICATED (its message is not sent).
 */
export type Authenticator = (call: CallInfo) => boolean | Promise<boolean>;

/**
 * An {@link Authenticator} that accepts a call whose `authorization` header is `Bearer <token>`
 * for one of `tokens` (compared in constant time). Use it over TLS: the token travels in clear
 * otherwise.
 *
 * @example
 * const server = await serveStream(log.stream, { tls, authenticate: bearerTokenAuth([process.env.TOKEN]) });
 */
export function bearerTokenAuth(tokens: readonly string[]): Authenticator {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw invalidArgument('bearerTokenAuth needs at least one token');
  }
  const wanted = tokens.map((t) => {
    if (typeof t !== 'string' || t === '')
      throw invalidArgument('a bearer token must be a non-empty string');
    return Buffer.from(t);
  });
  return (call) => {
    const header = call.header('authorization');
    if (header === undefined || !header.startsWith('Bearer ')) return false;
    const got = Buffer.from(header.slice(7));
    let ok = false;
    for (const w of wanted) {
      if (w.length === got.length && timingSafeEqual(w, got)) ok = true;
    }
    return ok;
  };
}
