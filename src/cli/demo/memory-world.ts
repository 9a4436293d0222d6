import { MemCursorStore, newMemoryEventLog } from '../../testing/index.js';
import type { DemoWorld } from './world.js';

/** The demo over the in-memory event log: nothing persists, nothing to install. */
export function openMemoryWorld(): Promise<DemoWorld> {
  const log = newMemoryEventLog();
  const users = new Map<number, number>();
  const auditCursors = new MemCursorStore();
  const mailerCursors = new MemCursorStore();
  return Promise.resolve({
    setup: [
      'users service   writes users and their events to an in-memory log',
      'audit consumer  streams the log in the same process, cursors in memory',
      'mailer consumer streams the log in the same process, cursors in memory',
    ],
    persistent: false,
    writeUser(userId, create) {
      // One synchronous step: the change and its event cannot be separated.
      users.set(userId, (users.get(userId) ?? 0) + 1);
      log.insert(`user-${userId}`, create ? 1 : 2);
      return Promise.resolve();
    },
    auditStream: log.stream,
    mailerStream: log.stream,
    auditCursors,
    mailerCursors,
    head: () => Promise.resolve(log.head()),
    userCount: () => Promise.resolve(users.size),
    close() {
      log.stop();
      return Promise.resolve();
    },
  });
}
