// Recovery after a database restart, on a private MariaDB (own data directory and port, started,
// killed and restarted here; never the shared server): runForever with its defaults resumes
// within about a second of the database answering again, a database that is down costs at most
// about one statement a second, and every committed event is handled in order.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { missingBinary, type PrivateDb, privateMariadb } from '../../support/private-db.js';
import { assertDownCosts, percentileOf, restartScenario } from '../../support/recovery-scenario.js';

describe('recovery after a MariaDB restart', { timeout: 90_000 }, () => {
  let db: PrivateDb | undefined;
  after(async () => {
    await db?.destroy();
  });

  it('events flow again ≤ 2 s after each restart; ≤ 1 retry/s while down, one statement each; every committed event handled in order', async (t) => {
    const missing = missingBinary('mariadb');
    if (missing !== undefined) {
      if (process.env.CI) throw new Error(`private MariaDB needed in CI: ${missing}`);
      t.skip(`no private MariaDB: ${missing}`);
      return;
    }
    db = await privateMariadb();
    const r = await restartScenario({
      db,
      restarts: 3,
      downMs: 5_000,
      progress: (line) => t.diagnostic(line),
    });
    t.diagnostic(JSON.stringify({ ...r, codes: [...new Set(r.codes)] }));
    assert.deepEqual(r.problems, []);
    // At-least-once: a repeat only within the re-delivery window (the store's 5 s flush period
    // of events at one per 20 ms); in one process the pending cursor survives the outage.
    assert.ok(r.redelivered <= 5_000 / 20, `${r.redelivered} events handled twice`);
    assert.ok(r.committed > 20, `only ${r.committed} events committed`);
    assert.ok(
      percentileOf(r.recoveryMs, 100) <= 2_000,
      `events flowed again after ${r.recoveryMs.map(Math.round).join(', ')} ms`,
    );
    assertDownCosts(r, 5_000);
  });
});
