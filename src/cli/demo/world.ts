import type { CursorStore, StreamFunc } from '../../core/index.js';

/** Event types the demo's users service writes. */
export const UserEventType = { created: 1, updated: 2 } as const;

/**
 * The demo's setting, whatever the backend: a users service that writes a user and its event in
 * one transaction, the stream the audit consumer reads in the same process, the (remote) stream
 * the mailer reads, and a cursor store for each. The demo itself is written against this only,
 * so the in-memory log and the SQL tables behind gRPC run the same code.
 */
export interface DemoWorld {
  /** What runs where, one line each, for the header of the demo. */
  readonly setup: readonly string[];
  /** True when events and cursors outlive the process (a second run continues). */
  readonly persistent: boolean;
  /** Creates (`create`) or updates a user, writing its event in the same transaction. */
  writeUser(userId: number, create: boolean): Promise<void>;
  /** The audit consumer's stream: the events table read directly. */
  readonly auditStream: StreamFunc;
  /** The mailer consumer's stream: over gRPC when the backend serves one. */
  readonly mailerStream: StreamFunc;
  readonly auditCursors: CursorStore;
  readonly mailerCursors: CursorStore;
  /** The newest event id, '' when there is none. */
  head(): Promise<string>;
  /** How many users exist (to continue numbering them on a second run). */
  userCount(): Promise<number>;
  /** Releases everything (servers, pools, files). Idempotent. */
  close(): Promise<void>;
}
