// Run by test/integration/grpc/faults.test.ts: serves the events table of a SQLite file over gRPC
// (argv: file, table, port) and prints its address, until the test kills it.
import Database from 'better-sqlite3';
import { serveStream } from '../../src/grpc/index.js';
import { newEventsTable } from '../../src/rsql/index.js';

const [file = '', table = '', port = '0'] = process.argv.slice(2);
const db = new Database(file);
db.pragma('journal_mode = WAL');
const events = newEventsTable(table, { pollIntervalMs: 10 });
const server = await serveStream(events.toStream(db), { address: `127.0.0.1:${port}` });
process.stdout.write(`${server.address}\n`);
process.once('SIGTERM', () => {
  void server.stop().then(() => events.close());
});
