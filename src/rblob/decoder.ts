import { ErrorCode, ReflexError } from '../core/index.js';
import type { BlobInfo } from './bucket.js';

/**
 * Splits the bytes of one blob into records. It reads `body` (already gunzipped) and yields each
 * record's bytes, in order; the stream skips empty records. A malformed blob is an error thrown
 * from the iteration: the stream reports it as `ERR_REFLEX_DESERIALIZATION`, adding the blob and
 * the record offset (say the byte offset in your message). Read `body` lazily (one chunk at a
 * time) to keep memory bounded; the stream stops iterating early when it is closed.
 *
 * @example
 * // Records separated by NUL bytes.
 * const nulDecoder: Decoder = async function* (body) {
 *   let rest = Buffer.alloc(0);
 *   for await (const chunk of body) {
 *     rest = Buffer.concat([rest, chunk]);
 *     for (let i = rest.indexOf(0); i >= 0; i = rest.indexOf(0)) {
 *       yield rest.subarray(0, i);
 *       rest = rest.subarray(i + 1);
 *     }
 *   }
 *   if (rest.length > 0) yield rest;
 * };
 * newBlobStream(bucket, { decoder: nulDecoder });
 */
export type Decoder = (
  body: AsyncIterable<Uint8Array>,
  info: BlobInfo,
) => AsyncIterable<Uint8Array>;

const textDecoder = new TextDecoder();

function corrupt(message: string): ReflexError {
  return new ReflexError(ErrorCode.deserialization, message);
}

function validateJson(record: Uint8Array, byteOffset: number): void {
  try {
    JSON.parse(textDecoder.decode(record));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ReflexError(
      ErrorCode.deserialization,
      `invalid JSON value at byte ${byteOffset}: ${why}`,
      { cause: err },
    );
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return (parts[0] as Uint8Array).slice();
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const Mode = { between: 0, container: 1, string: 2, scalar: 3 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * The default decoder: the blob is a sequence of JSON values (objects, arrays or scalars) with
 * optional whitespace between them, as Kinesis Firehose writes them (`{"a":1}{"a":2}`) and as
 * newline-delimited JSON is too. Yields each top-level value's raw bytes, validated with
 * `JSON.parse`. Memory: one record plus one chunk.
 *
 * @example
 * newBlobStream(bucket); // jsonDecoder is the default
 * newBlobStream(bucket, { decoder: jsonDecoder });
 */
export const jsonDecoder: Decoder = async function* jsonDecoder(body) {
  let mode: Mode = Mode.between;
  let depth = 0;
  let escaped = false;
  let parts: Uint8Array[] = [];
  let partsLength = 0;
  let recordStart = 0; // byte offset of the current record in the blob
  let consumed = 0; // bytes of the blob before the current chunk

  for await (const chunk of body) {
    let start = -1; // where the current record starts in this chunk, when it does
    if (mode !== Mode.between) start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      switch (mode) {
        case Mode.between:
          if (isSpace(b)) continue;
          start = i;
          recordStart = consumed + i;
          if (b === 0x7b || b === 0x5b) {
            mode = Mode.container;
            depth = 1;
          } else if (b === 0x22) {
            mode = Mode.string;
            escaped = false;
          } else {
            mode = Mode.scalar;
          }
          continue;
        case Mode.scalar:
          // A scalar (number, true, false, null) ends before whitespace or the next value.
          if (isSpace(b) || b === 0x7b || b === 0x5b || b === 0x22) {
            parts.push(chunk.subarray(start, i));
            partsLength += i - start;
            const record = concat(parts, partsLength);
            parts = [];
            partsLength = 0;
            mode = Mode.between;
            validateJson(record, recordStart);
            yield record;
            i--; // this byte starts what follows
          }
          continue;
        case Mode.string:
          if (escaped) {
            escaped = false;
            continue;
          }
          if (b === 0x5c) {
            escaped = true;
            continue;
          }
          if (b !== 0x22) continue;
          if (depth > 0) {
            mode = Mode.container; // the string inside a container ends
            continue;
          }
          break; // a top-level string ends here
        case Mode.container:
          if (b === 0x22) {
            // A string inside a container: scan it in string mode, then come back.
            mode = Mode.string;
            escaped = false;
            continue;
          }
          if (b === 0x7b || b === 0x5b) depth++;
          else if (b === 0x7d || b === 0x5d) {
            depth--;
            if (depth === 0) break;
          }
          continue;
      }
      // Only reached when a top-level string or container ends at byte i.
      parts.push(chunk.subarray(start, i + 1));
      partsLength += i + 1 - start;
      const record = concat(parts, partsLength);
      parts = [];
      partsLength = 0;
      mode = Mode.between;
      validateJson(record, recordStart);
      yield record;
    }
    if (mode !== Mode.between) {
      // The record goes on in the next chunk. Copy: the chunk may be reused by its producer.
      const rest = chunk.slice(start);
      parts.push(rest);
      partsLength += rest.length;
    }
    consumed += chunk.length;
  }
  if (mode === Mode.scalar) {
    const record = concat(parts, partsLength);
    validateJson(record, recordStart);
    yield record;
  } else if (mode !== Mode.between) {
    throw corrupt(`truncated JSON value at byte ${recordStart}: the blob ends inside it`);
  }
};

/**
 * A decoder for newline-delimited JSON: one JSON value per line (`\n` or `\r\n`); blank lines
 * are skipped. Yields each line's bytes, validated with `JSON.parse`. Memory: one line plus one
 * chunk. (The default {@link jsonDecoder} reads such blobs too; this one also refuses two values
 * on one line.)
 *
 * @example
 * newBlobStream(bucket, { decoder: ndjsonDecoder, prefix: 'exports/2026-11-' });
 */
export const ndjsonDecoder: Decoder = async function* ndjsonDecoder(body) {
  for await (const { line, offset } of lines(body)) {
    if (line.every(isSpace)) continue;
    validateJson(line, offset);
    yield line;
  }
};

/** The lines of a byte stream, without their `\n` / `\r\n`, with the byte offset of each. */
async function* lines(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<{ line: Uint8Array; offset: number }> {
  let parts: Uint8Array[] = [];
  let partsLength = 0;
  let lineStart = 0;
  let consumed = 0;
  const take = (last: Uint8Array): Uint8Array => {
    parts.push(last);
    let line = concat(parts, partsLength + last.length);
    parts = [];
    partsLength = 0;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    return line;
  };
  for await (const chunk of body) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const offset = lineStart;
      const line = take(chunk.subarray(start, nl));
      start = nl + 1;
      lineStart = consumed + start;
      yield { line, offset };
    }
    if (start < chunk.length) {
      const rest = chunk.slice(start);
      parts.push(rest);
      partsLength += rest.length;
    }
    consumed += chunk.length;
  }
  if (partsLength > 0) yield { line: take(new Uint8Array(0)), offset: lineStart };
}
