import { newReflexClient, serveStream } from '../../grpc/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../testing/index.js';
import type { DemoWorld } from './world.js';

/**
 * The demo over the in-memory event log, served over gRPC on 127.0.0.1 to the mailer: nothing
 * persists, nothing to install.
 */
export async function openMemoryWorld(): Promise<DemoWorld> {
  const log = newMemoryEventLog();
  const users = new Map<number, number>();
  const server = await serveStream(log.stream, { address: '127.0.0.1:0', shutdownGraceMs: 1000 });
  const client = newReflexClient(server.address);
  let closed = false;
  return {
    setup: [
      'users service   writes users and their events to an in-memory log,',
      `                serves the stream over gRPC on ${server.address}`,
      'audit consumer  streams the log in the same process, cursors in memory',
      `mailer consumer streams it over gRPC from ${server.address}, cursors in memory`,
    ],
    persistent: false,
    writeUser(userId, create) {
      // One synchronous step: the change and its event cannot be separated.
      users.set(userId, (users.get(userId) ?? 0) + 1);
      log.insert(`user-${userId}`, create ? 1 : 2);
      return Promise.resolve();
    },
    auditStream: log.stream,
    mailerStream: client.stream,
    auditCursors: new MemCursorStore(),
    mailerCursors: new MemCursorStore(),
    head: () => Promise.resolve(log.head()),
    userCount: () => Promise.resolve(users.size),
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
      await server.stop();
      log.stop();
    },
  };
}
