import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event } from '../../../src/core/index.js';
import { RowPage } from '../../../src/rsql/loader/row-page.js';

describe('RowPage', () => {
  it('writes the events over the rows array itself and drops the rows left', () => {
    const rows: unknown[][] = [
      [1, 'a'],
      [2, '0'],
      [3, 'c'],
    ];
    const page = new RowPage(rows);
    for (const row of rows) {
      if (row[1] === '0') continue; // a filtered row leaves no slot
      const event: Event = {
        id: String(row[0]),
        type: 1,
        foreignId: String(row[1]),
        timestamp: new Date(0),
      };
      page.put(event);
    }
    assert.equal(page.size, 2);
    const events = page.take();
    assert.equal(events as unknown, rows, 'no second array');
    assert.deepEqual(
      events.map((e) => e.id),
      ['1', '3'],
    );
  });

  it('an empty page is an empty array', () => {
    const rows: unknown[][] = [[1]];
    assert.deepEqual(new RowPage(rows).take(), []);
  });
});
