// C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what follows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const unsafe = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the database or a peer (foreign ids, consumer names, error messages) made safe for a
 * terminal: control characters become visible escapes (`\x1b`, `\n`, `\u202e`), so a name cannot
 * move the cursor, change colours or split a line.
 */
export function escapeControl(text: string): string {
  return text.replace(unsafe, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// What JSON.stringify leaves raw (it escapes only U+0000-U+001F).
const unsafeInJson = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** JSON text with DEL, C1 controls and bidi overrides as `\\uXXXX` escapes: the same JSON value. */
export function escapeControlJson(json: string): string {
  return json.replace(unsafeInJson, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
