// The benchmark's result: rows (a measured figure beside a baseline measured in the same run),
// the machine and versions, and its renderings (console table, JSON, Markdown).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/** How a row was obtained. `absent`: the backend (or the part it needs) has not landed. */
export type RowStatus = 'measured' | 'absent' | 'skipped' | 'error';

/** A figure with its unit. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
}

/** A target the ratio (or the absolute value) is checked against. */
export interface Target {
  /** Human text, e.g. "≥ 0.9×" or "p99 ≤ 10 ms". */
  readonly text: string;
  /** What is compared: the ratio, the absolute value, or value − baseline. */
  readonly on: 'ratio' | 'value' | 'delta';
  readonly op: '>=' | '<=';
  readonly limit: number;
}

/** One line of the table. */
export interface Row {
  readonly section: string;
  readonly backend: string;
  readonly measure: string;
  readonly status: RowStatus;
  readonly value?: Figure;
  readonly baselineLabel?: string;
  readonly baseline?: Figure;
  /** value / baseline (for latencies and memory the caller says what the ratio means). */
  readonly ratio?: number;
  readonly target?: Target;
  /** True/false when measured against a target; undefined when there is none or no figure. */
  readonly met?: boolean;
  readonly note?: string;
}

/** The whole run. */
export interface BenchReport {
  readonly date: string;
  readonly durationS: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly machine: {
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryMB: number;
    readonly freeMemoryMB: number;
    /** 1-minute load average at the start and at the end (other work on the machine). */
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  readonly versions: Readonly<Record<string, string>>;
  readonly rows: readonly Row[];
}

/** Fills in `ratio` (unless given) and `met` from the figures and target. */
export function makeRow(row: Row): Row {
  let ratio = row.ratio;
  if (ratio === undefined && row.value !== undefined && row.baseline !== undefined) {
    ratio = row.baseline.value === 0 ? undefined : row.value.value / row.baseline.value;
  }
  let met = row.met;
  if (met === undefined && row.target !== undefined && row.status === 'measured') {
    const x =
      row.target.on === 'ratio'
        ? ratio
        : row.target.on === 'value'
          ? row.value?.value
          : row.value === undefined || row.baseline === undefined
            ? undefined
            : row.value.value - row.baseline.value;
    if (x !== undefined && Number.isFinite(x)) {
      met = row.target.op === '>=' ? x >= row.target.limit : x <= row.target.limit;
    }
  }
  return {
    ...row,
    ...(ratio === undefined ? {} : { ratio }),
    ...(met === undefined ? {} : { met }),
  };
}

export function loadAverage1m(): number {
  return loadavg()[0] ?? Number.NaN;
}

export function machineInfo(loadAtStart: number): BenchReport['machine'] {
  const list = cpus();
  return {
    platform: `${process.platform} ${process.arch}`,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryMB: Math.round(totalmem() / 2 ** 20),
    freeMemoryMB: Math.round(freemem() / 2 ** 20),
    loadAverage: { start: loadAtStart, end: loadAverage1m() },
  };
}

/** A number for people: 3 significant figures, thousands separated. */
export function fmtNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en');
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  if (abs === 0) return '0';
  return x.toPrecision(2);
}

export function fmtFigure(f: Figure | undefined): string {
  return f === undefined ? '' : `${fmtNumber(f.value)} ${f.unit}`;
}

function metText(row: Row): string {
  if (row.status !== 'measured') return row.status;
  if (row.met === undefined) return row.target === undefined ? '' : '?';
  return row.met ? 'met' : 'NOT met';
}

const columns = [
  'section',
  'backend',
  'measure',
  'reflex-events',
  'baseline',
  'ratio',
  'target',
  'result',
] as const;

function cells(row: Row): string[] {
  const baseline =
    row.baseline === undefined
      ? (row.baselineLabel ?? '')
      : `${fmtFigure(row.baseline)}${row.baselineLabel === undefined ? '' : ` (${row.baselineLabel})`}`;
  const value = row.status === 'measured' ? fmtFigure(row.value) : row.status;
  return [
    row.section,
    row.backend,
    row.measure,
    value,
    baseline,
    row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}×`,
    row.target?.text ?? '',
    metText(row) + (row.note === undefined ? '' : ` — ${row.note}`),
  ];
}

/** A plain-text table for the console. */
export function renderText(report: BenchReport): string {
  const table = [Array.from(columns), ...report.rows.map(cells)];
  const widths = columns.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [header(report), '', line(table[0] ?? [])];
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table.slice(1)) out.push(line(r));
  return out.join('\n');
}

function header(report: BenchReport): string {
  const m = report.machine;
  const v = Object.entries(report.versions)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ');
  return [
    `reflex-events benchmark, ${report.date} (${report.durationS.toFixed(0)} s)`,
    `machine: ${m.platform}, ${m.cpus} cpus (${m.cpuModel}), ${m.memoryMB} MB memory (${m.freeMemoryMB} MB free at start), load average ${loadText(m)}`,
    `versions: ${v}`,
    `options: ${JSON.stringify(report.options)}`,
  ].join('\n');
}

function loadText(m: BenchReport['machine']): string {
  return `${m.loadAverage.start.toFixed(1)} at start, ${m.loadAverage.end.toFixed(1)} at end`;
}

function mdEscape(s: string): string {
  return s.replaceAll('|', '\\|');
}

/** The same table in Markdown. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out = [
    '# reflex-events benchmark results',
    '',
    `- date: ${report.date} (run took ${report.durationS.toFixed(0)} s)`,
    `- machine: ${m.platform}, ${m.cpus} cpus (${m.cpuModel}), ${m.memoryMB} MB memory, load average ${loadText(m)} (other work on the machine skews the figures)`,
    `- versions: ${Object.entries(report.versions)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')}`,
    `- options: \`${JSON.stringify(report.options)}\``,
    '',
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
  ];
  for (const row of report.rows) out.push(`| ${cells(row).map(mdEscape).join(' | ')} |`);
  out.push('');
  return out.join('\n');
}

/** Writes `latest.json` and `latest.md` into `dir` (created when missing); returns their paths. */
export function writeReport(report: BenchReport, dir: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const md = join(dir, 'latest.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, renderMarkdown(report));
  return { json, md };
}
