// Recovery after a gRPC server restart: the server process is killed and a new one listens on
// the same port a few seconds later; the client's runForever (defaults) consumes again within
// 2 s of it listening, every event in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grpcRestartScenario } from '../../support/grpc-restart-scenario.js';
import { percentileOf } from '../../support/recovery-scenario.js';

describe('recovery after a gRPC server restart', { timeout: 60_000 }, () => {
  it('a killed server restarted on the same port: the client resumes ≤ 2 s after it listens, every event in order', async (t) => {
    const r = await grpcRestartScenario({
      restarts: 3,
      downMs: 3_000,
      progress: (line) => t.diagnostic(line),
    });
    t.diagnostic(JSON.stringify({ ...r, codes: [...new Set(r.codes)] }));
    assert.deepEqual(r.problems, []);
    assert.ok(
      percentileOf(r.recoveryMs, 100) <= 2_000,
      `events flowed again after ${r.recoveryMs.map(Math.round).join(', ')} ms`,
    );
    assert.ok(
      r.codes.every((c) => c === 'ERR_REFLEX_UNAVAILABLE'),
      `retried as transient: ${r.codes.join(', ')}`,
    );
  });
});
