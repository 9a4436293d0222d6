import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, hasCode } from '../../src/core/index.js';
import { newReflexClient } from '../../src/grpc/index.js';

describe('newReflexClient options', () => {
  it('refuses bad addresses and timeouts at construction', () => {
    for (const address of ['h:99999', '::1:9000', 'host', 'http://h:1', '']) {
      assert.throws(
        () => newReflexClient(address),
        (err) => hasCode(err, ErrorCode.invalidArgument),
        address,
      );
    }
    for (const timeoutMs of [0, -1, Number.NaN, 1e8]) {
      assert.throws(
        () => newReflexClient('127.0.0.1:1', { timeoutMs }),
        (err) => hasCode(err, ErrorCode.invalidArgument),
        String(timeoutMs),
      );
    }
  });

  it('accepts host:port, bracketed IPv6 and the largest timeout grpc-timeout can carry', async () => {
    for (const address of ['127.0.0.1:9000', '[::1]:9000', 'orders.internal:443']) {
      await newReflexClient(address, { timeoutMs: 99_999_999 }).close();
    }
  });
});
