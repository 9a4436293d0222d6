import type { Command } from 'commander';
import {
  type ConsumerStatus,
  newStatusMonitor,
  type StatusGrpcSource,
  type StatusMonitor,
  type StatusSnapshot,
  type StatusStreamOptions,
} from '../../status/index.js';
import { type CliContext, examples } from '../context.js';
import { checkIdentifier, type Db, openDb } from '../db.js';
import { formatDuration, parseDuration } from '../duration.js';
import { runtimeError, usageError } from '../errors.js';
import { Output, toJson } from '../output.js';
import { escapeControl } from '../text.js';
import { parseDbUrl } from '../url.js';

/** Flags of the status monitor, shared by `reflex status` and `reflex serve`. */
export interface StatusFlags {
  cursors?: string[];
  errors?: string;
  leases?: string;
  stalledAfter: string;
}

/** Adds the flags naming what the status shows. */
export function statusOptions(cmd: Command): Command {
  return cmd
    .option(
      '--cursors <table...>',
      'cursors tables of the consumers, as table (consumers of the first events table) or table=events_table (default: cursors, when it exists)',
    )
    .option(
      '--errors <table>',
      'the consumer errors table whose latest error per consumer is shown (default: consumer_errors, when it exists)',
    )
    .option(
      '--leases <table>',
      'the leases table of sharded consumer groups: shows which process holds each shard (default: reflex_leases, when it exists)',
    )
    .option(
      '--stalled-after <d>',
      'a consumer with events waiting whose cursor has not moved for this long is stalled',
      '30s',
    );
}

async function tableExists(db: Db, table: string): Promise<boolean> {
  try {
    await db.query(`SELECT 1 AS x FROM ${db.quote(table)} WHERE 1 = 0`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A status monitor of `eventsTables` on `db` from the flags: each `--cursors` table goes to the
 * events table it names (the first one by default); without `--cursors`/`--errors`, the default
 * tables are watched when they exist.
 */
export async function openStatusMonitor(
  db: Db,
  eventsTables: readonly string[],
  flags: StatusFlags,
  more: { cursorsDb?: Db; grpc?: StatusGrpcSource; intervalMs?: number } = {},
): Promise<StatusMonitor> {
  const stalledAfterMs = parseDuration(flags.stalledAfter, '--stalled-after');
  const cursors = new Map<string, string[]>(eventsTables.map((t) => [t, []]));
  const first = eventsTables[0];
  if (first === undefined) throw usageError('no events table to show');
  const cursorsDb = more.cursorsDb ?? db;
  if (flags.cursors === undefined) {
    if (await tableExists(cursorsDb, 'cursors')) cursors.get(first)?.push('cursors');
  } else {
    for (const spec of flags.cursors.flatMap((c) => c.split(','))) {
      const [table = '', events = first] = spec.split('=', 2);
      const list = cursors.get(checkIdentifier(events, '--cursors (its events table)'));
      if (list === undefined) {
        throw usageError(
          `--cursors ${spec}: ${events} is not one of the events tables (${eventsTables.join(', ')})`,
        );
      }
      list.push(checkIdentifier(table, '--cursors'));
    }
  }
  let errors: string | undefined;
  if (flags.errors !== undefined) errors = checkIdentifier(flags.errors, '--errors');
  else if (await tableExists(db, 'consumer_errors')) errors = 'consumer_errors';
  let leases: string | undefined;
  if (flags.leases !== undefined) leases = checkIdentifier(flags.leases, '--leases');
  else if (await tableExists(cursorsDb, 'reflex_leases')) leases = 'reflex_leases';
  const streams: StatusStreamOptions[] = eventsTables.map((events) => ({
    events,
    cursors: cursors.get(events) ?? [],
    ...(more.cursorsDb === undefined ? {} : { cursorsDb: more.cursorsDb.handle }),
  }));
  return newStatusMonitor(db.handle, {
    streams,
    stalledAfterMs,
    ...(errors === undefined ? {} : { errors }),
    ...(leases === undefined ? {} : { leases, leasesDb: cursorsDb.handle }),
    ...(more.grpc === undefined ? {} : { grpc: more.grpc }),
    ...(more.intervalMs === undefined ? {} : { intervalMs: more.intervalMs }),
  });
}

const bars = '▁▂▃▄▅▆▇█';

/** A throughput history as a line of block characters. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => (max === 0 ? bars[0] : bars[Math.min(7, Math.floor((v / max) * 7.999))]))
    .join('');
}

function stateText(c: ConsumerStatus, at: string): string {
  if (c.state === 'stalled' && c.since !== null) {
    return `stalled since ${c.since.slice(11, 19)}Z (${formatDuration(Date.parse(at) - Date.parse(c.since))})`;
  }
  if (c.state === 'erroring' && c.since !== null) return `erroring since ${c.since.slice(11, 19)}Z`;
  return c.state;
}

/** Prints a snapshot as the terminal tables of `reflex status`. */
export function printSnapshot(s: StatusSnapshot, out: Output, write: (s: string) => void): void {
  const window = formatDuration(s.bucketMs * (s.streams[0]?.throughput.length ?? 0));
  out.table(
    [
      { key: 'name', header: 'STREAM' },
      { key: 'head', header: 'HEAD', right: true },
      { key: 'headAt', header: 'HEAD WRITTEN' },
      { key: 'rate', header: 'WRITTEN/S', right: true },
      { key: 'chart', header: `LAST ${window}` },
    ],
    s.streams.map((x) => ({
      name: escapeControl(x.name),
      head: x.head,
      headAt: x.headAt,
      rate: x.ratePerSecond,
      chart: sparkline(x.throughput),
    })),
  );
  write('\n');
  out.table(
    [
      { key: 'stream', header: 'STREAM' },
      { key: 'name', header: 'CONSUMER' },
      { key: 'cursor', header: 'CURSOR', right: true },
      { key: 'lagEvents', header: 'LAG EVENTS', right: true },
      { key: 'lag', header: 'LAG', right: true },
      { key: 'rate', header: 'CONSUMED/S', right: true },
      { key: 'chart', header: `LAST ${window}` },
      { key: 'state', header: 'STATE' },
      { key: 'error', header: 'LAST ERROR' },
      // Only when some consumer is a leased shard: which process holds it.
      ...(s.consumers.some((c) => c.holder !== null) ? [{ key: 'holder', header: 'HELD BY' }] : []),
    ],
    s.consumers.map((c) => ({
      stream: escapeControl(c.stream),
      name: escapeControl(c.name),
      cursor: escapeControl(c.cursor),
      lagEvents: c.lagEvents,
      lag: c.lagSeconds === 0 ? '0s' : formatDuration(c.lagSeconds * 1000),
      rate: c.ratePerSecond,
      chart: sparkline(c.throughput),
      state: stateText(c, s.at),
      error: c.lastError === null ? '' : escapeControl(c.lastError.message),
      holder: c.holder === null ? '' : c.holder === '' ? '(free)' : escapeControl(c.holder),
    })),
  );
  for (const p of s.problems) write(`problem: ${escapeControl(p)}\n`);
}

type Flags = StatusFlags & {
  events: string[];
  cursorsDb?: string;
  watch?: boolean;
  interval: string;
  json?: boolean;
};

/** `reflex status`: streams and consumers, their lag and state, once or refreshed with --watch. */
export function registerStatus(program: Command, ctx: CliContext): void {
  const cmd = statusOptions(
    program
      .command('status')
      .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file')
      .description(
        'every stream and consumer: cursor, head, lag in events and seconds, throughput, state (moving, stalled since, erroring with its last error); what `reflex serve` shows at /status',
      )
      .requiredOption('--events <table...>', 'the events tables'),
  )
    .option(
      '--cursors-db <url>',
      'the database of the cursors tables, when the consumers keep their cursors elsewhere',
    )
    .option('--watch', 'refresh until Ctrl-C')
    .option('--interval <d>', 'time between refreshes with --watch', '2s')
    .option('--json', 'one JSON snapshot per refresh (what /status.json serves)')
    .action(async (url: string, flags: Flags) => {
      const source = parseDbUrl(url);
      const events = flags.events
        .flatMap((e) => e.split(','))
        .map((e) => checkIdentifier(e, '--events'));
      const intervalMs = parseDuration(flags.interval, '--interval');
      if (intervalMs < 100) throw usageError('--interval must be at least 100ms');
      parseDuration(flags.stalledAfter, '--stalled-after');
      const cursorsSource = flags.cursorsDb === undefined ? undefined : parseDbUrl(flags.cursorsDb);
      const db = await openDb(source);
      let cursorsDb: Db | undefined;
      let monitor: StatusMonitor | undefined;
      try {
        cursorsDb = cursorsSource === undefined ? undefined : await openDb(cursorsSource);
        monitor = await openStatusMonitor(db, events, flags, {
          ...(cursorsDb === undefined ? {} : { cursorsDb }),
          intervalMs,
        });
        const out = new Output({ stdout: ctx.stdout, json: flags.json === true });
        const write = (s: string): void => {
          ctx.stdout.write(s);
        };
        const show = (s: StatusSnapshot): void => {
          if (out.json) {
            write(`${toJson(s)}\n`);
            return;
          }
          // Redraw in place on a terminal; a pipe gets one snapshot after the other.
          if (flags.watch === true && ctx.stdout.isTTY === true) write('\x1b[H\x1b[2J');
          printSnapshot(s, out, write);
        };
        const first = await monitor.snapshot();
        if (flags.watch !== true) {
          show(first);
          if (first.problems.length > 0 && first.streams.length === 0) {
            throw runtimeError(`cannot read the events tables on ${db.display}`);
          }
          return;
        }
        show(first);
        await new Promise<void>((resolve) => {
          const m = monitor as StatusMonitor;
          const off = m.onUpdate(show);
          const stop = (): void => {
            off();
            resolve();
          };
          if (ctx.signal.aborted) stop();
          else ctx.signal.addEventListener('abort', stop, { once: true });
        });
      } finally {
        await monitor?.close();
        await cursorsDb?.close();
        await db.close();
      }
    });
  examples(
    cmd,
    'reflex status sqlite:.reflex-demo/users.db --events user_events',
    'reflex status mysql://root@127.0.0.1/app --events user_events --cursors cursors --errors consumer_errors --watch',
    'reflex status postgres://app@db/app --events user_events --json | jq .consumers',
  );
}
