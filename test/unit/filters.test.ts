import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  type Event,
  type EventFilter,
  hasCode,
  isFilterErr,
  newConsumer,
} from '../../src/core/index.js';
import {
  allEventFilters,
  anyEventFilters,
  FiltersErrorCode,
  metadataEventFilter,
} from '../../src/filters/index.js';
import { makeEvents } from '../support/events.js';

const event = makeEvents(1)[0] as Event;
const yes: EventFilter = () => true;
const no: EventFilter = () => false;
const fail =
  (msg: string): EventFilter =>
  () => {
    throw new Error(msg);
  };

function outcome(f: EventFilter): boolean | string {
  try {
    return f(event);
  } catch (err) {
    return (err as Error).message;
  }
}

describe('filters', () => {
  it('all: zero → true; stops at the first false or error', () => {
    assert.equal(outcome(allEventFilters()), true);
    assert.equal(outcome(allEventFilters(yes, yes)), true);
    assert.equal(outcome(allEventFilters(yes, no)), false);
    assert.equal(
      outcome(allEventFilters(no, fail('late'))),
      false,
      'evaluation stops at the first false',
    );
    assert.equal(outcome(allEventFilters(yes, fail('e1'), fail('e2'))), 'e1');
  });

  it('any: zero → false; the first true wins; errors remembered, the last one thrown', () => {
    assert.equal(outcome(anyEventFilters()), false);
    assert.equal(outcome(anyEventFilters(no, yes)), true);
    assert.equal(outcome(anyEventFilters(fail('e1'), yes)), true);
    assert.equal(outcome(anyEventFilters(no, no)), false);
    assert.equal(outcome(anyEventFilters(fail('e1'), no, fail('e2'))), 'e2');
  });

  it('metadata filter: decodes, decides; a decoder failure is a deserialization error', async () => {
    const json = (b: Uint8Array | undefined): { region: string } =>
      JSON.parse(new TextDecoder().decode(b ?? new Uint8Array())) as { region: string };
    const f = metadataEventFilter(json, (m) => m.region === 'eu');
    const withMeta = (s: string): Event => ({ ...event, metadata: new TextEncoder().encode(s) });
    assert.equal(f(withMeta('{"region":"eu"}')), true);
    assert.equal(f(withMeta('{"region":"us"}')), false);
    assert.throws(
      () => f(withMeta('{')),
      (err) => hasCode(err, ErrorCode.deserialization),
    );
    assert.throws(
      () => f(event),
      (err) => hasCode(err, ErrorCode.deserialization),
      'no metadata',
    );
    assert.throws(
      () => metadataEventFilter(undefined as never, () => true),
      (err) => hasCode(err, FiltersErrorCode.metadataFilter),
    );
    // Through a consumer, the decoder failure is a filter error.
    const c = newConsumer('meta', () => {}, { filter: f });
    await assert.rejects(c.consume(withMeta('{'), new AbortController().signal), (err) =>
      isFilterErr(err),
    );
  });
});
