import type { Writable } from 'node:stream';
import { escapeControl, escapeControlJson } from './text.js';

/** A column of a table: the key of the row it shows and its header. */
export interface Column {
  readonly key: string;
  readonly header: string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

/** A row: what JSON mode prints as is, and table mode shows through the columns. */
export type Row = object;

/** Where and how a command prints its results. */
export interface OutputOptions {
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  /** Force JSON lines, even on a terminal. */
  readonly json?: boolean;
}

/**
 * Prints results as a table when stdout is a terminal, and as JSON lines (one object per line,
 * for jq and scripts) when it is piped or `--json` is given. Status lines go to stderr, never
 * mixed with results.
 */
export class Output {
  readonly json: boolean;
  readonly #out: OutputOptions['stdout'];

  constructor(options: OutputOptions) {
    this.#out = options.stdout;
    this.json = options.json === true || options.stdout.isTTY !== true;
  }

  /** Prints all the rows at once: an aligned table, or one JSON line per row. */
  table(columns: readonly Column[], rows: readonly Row[]): void {
    if (this.json) {
      for (const row of rows) this.#out.write(`${toJson(row)}\n`);
      return;
    }
    const cells = rows.map((row) => columns.map((c) => cell(field(row, c.key))));
    const widths = columns.map((c, i) =>
      Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)),
    );
    this.#out.write(
      `${formatLine(
        columns.map((c) => c.header),
        columns,
        widths,
      )}\n`,
    );
    for (const r of cells) this.#out.write(`${formatLine(r, columns, widths)}\n`);
    if (rows.length === 0) this.#out.write('(none)\n');
  }

  /** A table printed row by row as the rows come (`reflex tail`): the header first, widths grow. */
  streamingTable(
    columns: readonly Column[],
    minWidths: Readonly<Record<string, number>> = {},
  ): (row: Row) => void {
    if (this.json) return (row) => this.#out.write(`${toJson(row)}\n`);
    const widths = columns.map((c) => Math.max(c.header.length, minWidths[c.key] ?? 0));
    let headerDone = false;
    return (row) => {
      const r = columns.map((c) => cell(field(row, c.key)));
      r.forEach((v, i) => {
        widths[i] = Math.max(widths[i] ?? 0, v.length);
      });
      if (!headerDone) {
        this.#out.write(
          `${formatLine(
            columns.map((c) => c.header),
            columns,
            widths,
          )}\n`,
        );
        headerDone = true;
      }
      this.#out.write(`${formatLine(r, columns, widths)}\n`);
    };
  }

  /** One record: a JSON line, or `key  value` lines. */
  record(row: Row): void {
    if (this.json) {
      this.#out.write(`${toJson(row)}\n`);
      return;
    }
    const width = Math.max(...Object.keys(row).map((k) => k.length));
    for (const [k, v] of Object.entries(row)) this.#out.write(`${k.padEnd(width)}  ${cell(v)}\n`);
  }
}

function formatLine(
  values: readonly string[],
  columns: readonly Column[],
  widths: readonly number[],
): string {
  return values
    .map((v, i) => {
      const w = widths[i] ?? 0;
      return columns[i]?.right === true ? v.padStart(w) : i === values.length - 1 ? v : v.padEnd(w);
    })
    .join('  ')
    .trimEnd();
}

function field(row: Row, key: string): unknown {
  return (row as Record<string, unknown>)[key];
}

/** A table cell: text from the database or a peer is escaped (control characters, bidi overrides). */
function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return escapeControl(toJson(value));
  return escapeControl(String(value));
}

/**
 * JSON with Dates as ISO strings and byte arrays (Buffers too) as base64; DEL, C1 controls and bidi
 * overrides, which JSON leaves raw, are written as `\\uXXXX` (still the same JSON string).
 */
export function toJson(value: unknown): string {
  return escapeControlJson(
    JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      // The holder's own value: a Buffer's toJSON already ran on `v`.
      const raw = this[key];
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString('base64');
      if (typeof v === 'bigint') return v.toString();
      return v;
    }),
  );
}
