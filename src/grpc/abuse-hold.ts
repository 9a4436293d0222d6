// Abusive peers are held, not cut. A connection told to go away for abuse (rapid reset, a PING
// flood), and for a while every new connection from its address, is kept open and left unread
// until `abusiveHoldMs` passes. An attacker that reconnects as soon as it is cut then waits on its
// own full socket buffer instead of costing the server, per connection, a new HTTP/2 session and a
// burst of streams: that churn is what starved a well-behaved client (docs/grpc.md).
import { isIP } from 'node:net';

/** What can be held: closed at the end of the hold, and saying when it closed by itself. */
export interface Holdable {
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** Connections held at once at most, whatever the options: each costs a socket and a timer. */
const maxHeld = 64;
/** Abusive addresses remembered at most; the oldest is forgotten first. */
const maxAddresses = 10_000;

export class AbuseHold {
  readonly #holdMs: number;
  readonly #maxHeld: number;
  readonly #held = new Map<Holdable, { timer: NodeJS.Timeout; cut: () => void }>();
  /** Abusive addresses and when their penalty ends (performance.now() ms), oldest first. */
  readonly #addresses = new Map<string, number>();

  /**
   * @param holdMs how long to hold (0: never hold, cut at once, remember no address)
   * @param maxConnections the server's cap on connections: held ones count against it, so at
   *   most a quarter of it is held
   */
  constructor(holdMs: number, maxConnections: number | undefined) {
    this.#holdMs = holdMs;
    this.#maxHeld =
      maxConnections === undefined ? maxHeld : Math.min(maxHeld, Math.floor(maxConnections / 4));
  }

  /** How many connections are held now. */
  get size(): number {
    return this.#held.size;
  }

  /** Remembers an abusive peer's address: its new connections are held for the hold's length. */
  markAbusive(address: string | undefined): void {
    if (this.#holdMs === 0 || address === undefined || isIP(address) === 0) return;
    this.#addresses.delete(address);
    this.#addresses.set(address, performance.now() + this.#holdMs);
    if (this.#addresses.size > maxAddresses) {
      const oldest = this.#addresses.keys().next();
      if (oldest.done !== true) this.#addresses.delete(oldest.value);
    }
  }

  /** Whether a new connection from this address is to be held rather than served. */
  isPenalised(address: string | undefined): boolean {
    if (address === undefined) return false;
    const until = this.#addresses.get(address);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.#addresses.delete(address);
    return false;
  }

  /**
   * Holds a connection until the hold ends or it closes by itself; destroys it at once when holding
   * is off or enough are held already. `cut` closes it (the session and its socket).
   */
  hold(target: Holdable, cut: () => void = () => target.destroy()): void {
    if (this.#holdMs === 0 || this.#held.size >= this.#maxHeld) {
      cut();
      return;
    }
    const timer = setTimeout(() => {
      this.#held.delete(target);
      cut();
    }, this.#holdMs).unref();
    this.#held.set(target, { timer, cut });
    target.once('close', () => {
      clearTimeout(this.#held.get(target)?.timer);
      this.#held.delete(target);
    });
  }

  /** Closes every held connection at once (the server stops). */
  releaseAll(): void {
    for (const { timer, cut } of this.#held.values()) {
      clearTimeout(timer);
      cut();
    }
    this.#held.clear();
  }
}
