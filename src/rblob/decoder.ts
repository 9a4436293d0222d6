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

/** What one byte does to the top-level JSON value being scanned. */
const Step = {
  /** Whitespace between values. */
  space: 0,
  /** The byte starts a value. */
  starts: 1,
  /** The byte is inside the value. */
  inside: 2,
  /** The value ends with this byte (a string or a container). */
  endsAt: 3,
  /** The value (a scalar) ended before this byte, which belongs to what follows. */
  endedBefore: 4,
} as const;
type Step = (typeof Step)[keyof typeof Step];

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function opensContainer(b: number): boolean {
  return b === 0x7b || b === 0x5b;
}

/**
 * Finds where top-level JSON values start and end, one byte at a time, without parsing them:
 * it tracks strings (and their escapes) and container depth only.
 */
class JsonValueScanner {
  #mode: Mode = Mode.between;
  #depth = 0;
  #escaped = false;

  /** True while a value has started and not ended. */
  get inValue(): boolean {
    return this.#mode !== Mode.between;
  }

  /** True inside a scalar, which the end of the blob ends. */
  get inScalar(): boolean {
    return this.#mode === Mode.scalar;
  }

  step(b: number): Step {
    switch (this.#mode) {
      case Mode.between:
        return this.#start(b);
      case Mode.scalar:
        return this.#scalar(b);
      case Mode.string:
        return this.#string(b);
      case Mode.container:
        return this.#container(b);
    }
  }

  #start(b: number): Step {
    if (isSpace(b)) return Step.space;
    if (opensContainer(b)) {
      this.#mode = Mode.container;
      this.#depth = 1;
    } else if (b === 0x22) {
      this.#enterString();
    } else {
      this.#mode = Mode.scalar;
    }
    return Step.starts;
  }

  #scalar(b: number): Step {
    // A scalar (number, true, false, null) ends before whitespace or the next value.
    if (!isSpace(b) && !opensContainer(b) && b !== 0x22) return Step.inside;
    this.#mode = Mode.between;
    return Step.endedBefore;
  }

  #string(b: number): Step {
    if (this.#escaped) {
      this.#escaped = false;
      return Step.inside;
    }
    if (b === 0x5c) {
      this.#escaped = true;
      return Step.inside;
    }
    if (b !== 0x22) return Step.inside;
    // A string inside a container ends: back to the container; a top-level one ends the value.
    this.#mode = this.#depth > 0 ? Mode.container : Mode.between;
    return this.#depth > 0 ? Step.inside : Step.endsAt;
  }

  #container(b: number): Step {
    if (b === 0x22) {
      this.#enterString();
    } else if (opensContainer(b)) {
      this.#depth++;
    } else if (b === 0x7d || b === 0x5d) {
      this.#depth--;
      if (this.#depth === 0) {
        this.#mode = Mode.between;
        return Step.endsAt;
      }
    }
    return Step.inside;
  }

  #enterString(): void {
    this.#mode = Mode.string;
    this.#escaped = false;
  }
}

/** The pieces of a record that spans chunks. */
class RecordParts {
  #parts: Uint8Array[] = [];
  #length = 0;

  add(part: Uint8Array): void {
    this.#parts.push(part);
    this.#length += part.length;
  }

  /** The whole record (with `last` appended), and a fresh start for the next one. */
  take(last?: Uint8Array): Uint8Array {
    if (last !== undefined) this.add(last);
    const record = concat(this.#parts, this.#length);
    this.#parts = [];
    this.#length = 0;
    return record;
  }
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
  const scanner = new JsonValueScanner();
  const parts = new RecordParts();
  let recordStart = 0; // byte offset of the current record in the blob
  let consumed = 0; // bytes of the blob before the current chunk

  for await (const chunk of body) {
    let start = scanner.inValue ? 0 : -1; // where the current record starts in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const step = scanner.step(chunk[i] as number);
      if (step === Step.starts) {
        start = i;
        recordStart = consumed + i;
      } else if (step === Step.endsAt || step === Step.endedBefore) {
        const record = parts.take(chunk.subarray(start, step === Step.endsAt ? i + 1 : i));
        validateJson(record, recordStart);
        yield record;
        if (step === Step.endedBefore) i--; // this byte starts what follows
      }
    }
    // The record goes on in the next chunk. Copy: the chunk may be reused by its producer.
    if (scanner.inValue) parts.add(chunk.slice(start));
    consumed += chunk.length;
  }
  if (scanner.inScalar) {
    const record = parts.take();
    validateJson(record, recordStart);
    yield record;
  } else if (scanner.inValue) {
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
