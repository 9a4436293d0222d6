import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codeOf,
  ErrorCode,
  isExpected,
  isFilterErr,
  isHeadReachedErr,
  isStoppedErr,
  isTransientErr,
  ReflexError,
} from '../../src/core/index.js';
import { wrapError } from '../../src/internal/errors.js';
import { RsqlErrorCode } from '../../src/rsql/index.js';

describe('errors', () => {
  it('isExpected: nil false, abort/timeout/stopped/canceled/deadline true, others false', () => {
    assert.equal(isExpected(undefined), false);
    assert.equal(isExpected(null), false);
    const ac = new AbortController();
    ac.abort();
    assert.equal(isExpected(ac.signal.reason), true);
    assert.equal(
      isExpected(AbortSignal.timeout(0).reason ?? new DOMException('t', 'TimeoutError')),
      true,
    );
    assert.equal(isExpected(new DOMException('x', 'TimeoutError')), true);
    assert.equal(isExpected(new ReflexError(ErrorCode.stopped, 'stopped')), true);
    assert.equal(isExpected(new ReflexError(ErrorCode.canceled, 'cancelled')), true);
    assert.equal(isExpected(new ReflexError(ErrorCode.deadlineExceeded, 'late')), true);
    assert.equal(isExpected(new Error('boom')), false);
    assert.equal(isExpected(new ReflexError(ErrorCode.headReached, 'head')), false);
  });

  it('codes survive wrapping, by ReflexError and by plain Error cause', () => {
    const stopped = new ReflexError(ErrorCode.stopped, 'event stream has been stopped');
    const wrapped = wrapError(stopped, 'recv error', ErrorCode.recv);
    assert.equal(wrapped.code, ErrorCode.stopped);
    assert.equal(wrapped.message, 'recv error: event stream has been stopped');
    assert.equal(wrapped.cause, stopped);
    assert.equal(isStoppedErr(wrapped), true);
    assert.equal(isStoppedErr(new Error('outer', { cause: wrapped })), true);
    assert.equal(isExpected(new Error('outer', { cause: wrapped })), true);
    assert.equal(isHeadReachedErr(wrapped), false);
    assert.equal(codeOf(new Error('plain')), undefined);
    assert.equal(
      wrapError(new Error('plain'), 'consume error', ErrorCode.consume).code,
      ErrorCode.consume,
    );
  });

  it('isFilterErr only for filter errors', () => {
    assert.equal(isFilterErr(new ReflexError(ErrorCode.filter, 'f')), true);
    assert.equal(isFilterErr(wrapError(new ReflexError(ErrorCode.filter, 'f'), 'x', 'y')), true);
    assert.equal(isFilterErr(new Error('f')), false);
  });

  it('instanceof holds for an error branded by another copy of the class', () => {
    const foreign = new Error('from another copy');
    Object.defineProperty(foreign, Symbol.for('reflex-events.ReflexError'), { value: true });
    assert.equal(foreign instanceof ReflexError, true);
    assert.equal(new Error('x') instanceof ReflexError, false);
  });

  it('a cause cycle does not hang the guards', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(isStoppedErr(a), false);
  });

  it('isTransientErr: lost, refused or restarting connections, through the cause chain; not an owner-closed pool', () => {
    const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
    for (const err of [
      new ReflexError('ERR_REFLEX_DB_CLOSED', 'database closed'),
      new ReflexError(ErrorCode.unavailable, 'server unreachable'),
      wrapError(new ReflexError(ErrorCode.unavailable, 'x'), 'recv error', ErrorCode.recv),
      withCode('ECONNREFUSED'),
      withCode('ECONNRESET'),
      withCode('PROTOCOL_CONNECTION_LOST'),
      withCode('57P01'),
      withCode('57P03'),
      withCode('08006'),
      withCode('08P01'),
      new ReflexError(RsqlErrorCode.database, 'wrapped', { cause: withCode('ER_SERVER_SHUTDOWN') }),
      wrapError(withCode('ECONNREFUSED'), 'consume error', ErrorCode.consume),
    ]) {
      assert.equal(isTransientErr(err), true, String(err));
    }
    for (const err of [
      undefined,
      null,
      'ECONNREFUSED',
      new Error('ECONNREFUSED'),
      new ReflexError(RsqlErrorCode.database, 'syntax', { cause: withCode('42601') }),
      new ReflexError(ErrorCode.consume, 'consumer failed'),
      new ReflexError(ErrorCode.stopped, 'stopped'),
      new ReflexError(ErrorCode.invalidArgument, 'bad'),
      withCode('ERR_REFLEX_DB_CLOSED'),
      new ReflexError('ERR_REFLEX_DB_CLOSED', 'closed', { cause: withCode('POOL_CLOSED') }),
      withCode('08'),
    ]) {
      assert.equal(isTransientErr(err), false, String(err));
    }
  });
});
