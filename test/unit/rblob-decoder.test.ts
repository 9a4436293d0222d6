import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, hasCode } from '../../src/core/index.js';
import { type Decoder, jsonDecoder, ndjsonDecoder } from '../../src/rblob/index.js';

const info = { key: 'k', modified: new Date(0) };
const enc = new TextEncoder();
const dec = new TextDecoder();

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function decodeAll(decoder: Decoder, text: string, size: number): Promise<string[]> {
  const out: string[] = [];
  for await (const r of decoder(chunks(enc.encode(text), size), info)) out.push(dec.decode(r));
  return out;
}

/** Decodes `text` split at every chunk size from 1 to its length; all must agree. */
async function decodeEverySplit(decoder: Decoder, text: string): Promise<string[]> {
  const whole = await decodeAll(decoder, text, Math.max(1, text.length));
  for (let size = 1; size < text.length; size++) {
    assert.deepEqual(await decodeAll(decoder, text, size), whole, `chunk size ${size}`);
  }
  return whole;
}

describe('jsonDecoder', () => {
  it('yields each concatenated top-level value raw, at every chunk split', async () => {
    const text =
      '{"a":1}{"b":[1,{"c":"}"}]} [2,3]\n"str\\"ing{" 12 -3.5e2 true\tfalse null{"d":"\\\\"}{}[]';
    assert.deepEqual(await decodeEverySplit(jsonDecoder, text), [
      '{"a":1}',
      '{"b":[1,{"c":"}"}]}',
      '[2,3]',
      '"str\\"ing{"',
      '12',
      '-3.5e2',
      'true',
      'false',
      'null',
      '{"d":"\\\\"}',
      '{}',
      '[]',
    ]);
  });

  it('keeps multi-byte UTF-8 intact across chunks', async () => {
    assert.deepEqual(await decodeEverySplit(jsonDecoder, '{"s":"é—😀"}  {"t":"ü"}'), [
      '{"s":"é—😀"}',
      '{"t":"ü"}',
    ]);
  });

  it('yields nothing for an empty or blank blob', async () => {
    assert.deepEqual(await decodeAll(jsonDecoder, '', 4), []);
    assert.deepEqual(await decodeAll(jsonDecoder, ' \n\t\r\n ', 2), []);
  });

  it('rejects a corrupt value with its byte offset', async () => {
    for (const [text, byte] of [
      ['{"a":1} {"a":,}', 8],
      ['{"a":1}\n}', 8],
      ['{"a":1} tru', 8],
      ['[1,2', 0],
      ['{"a":1}{"b":"x', 7],
    ] as const) {
      await assert.rejects(
        decodeAll(jsonDecoder, text, 3),
        (e) =>
          hasCode(e, ErrorCode.deserialization) && new RegExp(`at byte ${byte}\\b`).test(String(e)),
        text,
      );
    }
  });
});

describe('ndjsonDecoder', () => {
  it('yields each line, skipping blank lines, with \\n or \\r\\n, at every chunk split', async () => {
    const text = '{"a":1}\r\n\n  \n[1, 2]\n"x"\n{"last":true}';
    assert.deepEqual(await decodeEverySplit(ndjsonDecoder, text), [
      '{"a":1}',
      '[1, 2]',
      '"x"',
      '{"last":true}',
    ]);
  });

  it('rejects an invalid line with its byte offset', async () => {
    await assert.rejects(
      decodeAll(ndjsonDecoder, '{"a":1}\n{"b":}\n', 4),
      (e) => hasCode(e, ErrorCode.deserialization) && /at byte 8\b/.test(String(e)),
    );
    await assert.rejects(decodeAll(ndjsonDecoder, '{"a":1} {"b":2}\n', 4), /at byte 0\b/);
  });
});
