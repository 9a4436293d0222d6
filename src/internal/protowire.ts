/** Minimal protobuf wire helpers for the few tiny messages reflex-events encodes itself. */

export function encodeVarint(value: number, out: number[]): void {
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** Appends a length-delimited field (wire type 2); empty values are omitted, as proto3 does. */
export function encodeBytesField(field: number, bytes: Uint8Array, out: number[]): void {
  if (bytes.length === 0) return;
  encodeVarint((field << 3) | 2, out);
  encodeVarint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

/**
 * Reads the length-delimited fields of a message (the last one wins when a field repeats);
 * returns undefined when it is malformed.
 */
export function decodeBytesFields(buf: Uint8Array): Map<number, Uint8Array> | undefined {
  const all = decodeAllFields(buf);
  if (all === undefined) return undefined;
  const fields = new Map<number, Uint8Array>();
  for (const [field, value] of all) if (typeof value !== 'number') fields.set(field, value);
  return fields;
}

/**
 * Every field of a message in order, repeated ones included: length-delimited values as bytes,
 * varints as numbers (other wire types skipped). Undefined when the message is malformed.
 */
export function decodeAllFields(buf: Uint8Array): [number, Uint8Array | number][] | undefined {
  const out: [number, Uint8Array | number][] = [];
  let pos = 0;
  const readVarint = (): number | undefined => {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = buf[pos++];
      if (b === undefined) return undefined;
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    return undefined;
  };
  while (pos < buf.length) {
    const tag = readVarint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) return undefined;
    if (wire === 0) {
      const v = readVarint();
      if (v === undefined) return undefined;
      out.push([field, v]);
    } else if (wire === 2) {
      const len = readVarint();
      if (len === undefined || pos + len > buf.length) return undefined;
      out.push([field, buf.subarray(pos, pos + len)]);
      pos += len;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > buf.length) return undefined;
    } else {
      return undefined;
    }
  }
  return out;
}
