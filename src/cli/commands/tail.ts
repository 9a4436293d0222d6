import type { Command } from 'commander';
import {
  type Event,
  isExpected,
  isHeadReachedErr,
  type StreamCallOptions,
  type StreamClient,
} from '../../core/index.js';
import { type CliContext, examples } from '../context.js';
import { parseDuration, parsePositiveInt } from '../duration.js';
import { runtimeError, usageError } from '../errors.js';
import { Output } from '../output.js';
import { type GrpcClientFlags, openSource } from '../sources.js';
import { escapeControl } from '../text.js';
import { parseSource } from '../url.js';

type Flags = GrpcClientFlags & {
  table?: string;
  metadataColumn?: string;
  after?: string;
  fromHead?: boolean;
  toHead?: boolean;
  types?: string;
  lag?: string;
  limit?: string;
  json?: boolean;
};

/** How an event is shown: JSON lines keep every field, the table shows metadata as text when it is. */
export function eventRow(e: Event): Record<string, unknown> {
  return {
    id: e.id,
    type: e.type,
    foreignId: e.foreignId,
    timestamp: e.timestamp,
    // The exact time (microseconds since the epoch, a decimal string in JSON): the ISO timestamp
    // keeps only milliseconds.
    ...(e.timestampUs === undefined ? {} : { timestampUs: e.timestampUs }),
    ...(e.metadata === undefined || e.metadata.length === 0 ? {} : { metadata: e.metadata }),
    ...(e.trace === undefined || e.trace.length === 0 ? {} : { trace: e.trace }),
  };
}

function metadataText(m: Uint8Array | undefined): string {
  if (m === undefined || m.length === 0) return '';
  const text = Buffer.from(m).toString('utf8');
  // Printable UTF-8 as is (JSON metadata is common), anything else as base64.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
  return /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)
    ? `base64:${Buffer.from(m).toString('base64')}`
    : text;
}

/** Parses `--types 1,2,5`. */
export function parseTypes(text: string): Set<number> {
  const types = new Set<number>();
  for (const part of text.split(',')) {
    const t = part.trim();
    if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
      throw usageError(
        `--types must be a comma-separated list of integers, got ${JSON.stringify(text)}`,
      );
    }
    types.add(Number(t));
  }
  return types;
}

interface TailConfig {
  readonly source: ReturnType<typeof parseSource>;
  readonly types: ReadonlySet<number> | undefined;
  readonly lag: number;
  readonly limit: number | undefined;
  /** --lag with --to-head: stop at the first event not old enough instead of waiting for it. */
  readonly lagAtHead: boolean;
  readonly grpcFlags: Flags;
  readonly options: StreamCallOptions;
}

/** The flags of `reflex tail`, checked. */
function tailConfig(sourceText: string, flags: Flags, signal: AbortSignal): TailConfig {
  const source = parseSource(sourceText);
  if (source.kind !== 'grpc' && flags.table === undefined) {
    throw usageError('--table is required with a database URL');
  }
  if (flags.fromHead === true && flags.after !== undefined) {
    throw usageError('--from-head and --after exclude each other');
  }
  const types = flags.types === undefined ? undefined : parseTypes(flags.types);
  const lag = flags.lag === undefined ? 0 : parseDuration(flags.lag, '--lag');
  const limit = flags.limit === undefined ? undefined : parsePositiveInt(flags.limit, '--limit');
  // The default method is the client's own `stream`.
  const { method, ...rest } = flags;
  const grpcFlags =
    method === undefined || method === 'reflexpb.Reflex/Stream' ? rest : { ...rest, method };
  // --lag with --to-head: the tail ends at the first event not old enough yet, instead of
  // waiting (up to the whole lag) for it to age; the source is not asked to hold events back.
  const lagAtHead = flags.toHead === true && lag > 0;
  const options: StreamCallOptions = {
    signal,
    ...(flags.fromHead === true ? { fromHead: true } : {}),
    ...(flags.toHead === true ? { toHead: true } : {}),
    ...(lag > 0 && !lagAtHead ? { lag } : {}),
  };
  return { source, types, lag, limit, lagAtHead, grpcFlags, options };
}

/** Prints events until the limit, the head (--to-head) or one too new for --lag at the head. */
async function printEvents(
  client: StreamClient,
  t: TailConfig,
  flags: Flags,
  ctx: CliContext,
): Promise<void> {
  const out = new Output({ stdout: ctx.stdout, json: flags.json === true });
  const print = out.streamingTable(
    [
      { key: 'id', header: 'ID', right: true },
      { key: 'type', header: 'TYPE', right: true },
      { key: 'foreignId', header: 'FOREIGN ID' },
      { key: 'timestamp', header: 'TIMESTAMP' },
      { key: 'metadata', header: 'METADATA' },
    ],
    { id: 6, foreignId: 12 },
  );
  let printed = 0;
  while (t.limit === undefined || printed < t.limit) {
    const e = await client.recv();
    if (t.lagAtHead && Date.now() - e.timestamp.getTime() < t.lag) {
      ctx.stderr.write(
        `stopped before event ${escapeControl(e.id)}: it and the events after it are newer than --lag ${flags.lag}\n`,
      );
      return;
    }
    if (t.types !== undefined && !t.types.has(e.type)) continue;
    printed++;
    if (out.json) print(eventRow(e));
    else print({ ...eventRow(e), metadata: metadataText(e.metadata) });
  }
}

/** `reflex tail`: print the events of a stream as they come. */
export function registerTail(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('tail')
    .argument(
      '<source>',
      'a database URL (with --table) or a gRPC address host:port, grpcs://host:port',
    )
    .description('stream events: a table on a terminal, JSON lines when piped or with --json')
    .option('--table <name>', 'the events table (database sources)')
    .option('--metadata-column <name>', 'its metadata column, to show metadata (database sources)')
    .option('--after <cursor>', 'start after this event id (default: from the beginning)')
    .option('--from-head', 'only events written from now on')
    .option('--to-head', 'stop (exit code 0) once every existing event is printed')
    .option('--types <list>', 'only these event types, e.g. 1,2')
    .option(
      '--lag <d>',
      'only events at least this old (e.g. 30s); with --to-head, stop at the first newer one',
    )
    .option('--limit <n>', 'stop after n events')
    .option('--json', 'JSON lines even on a terminal')
    .option('--method <name>', 'gRPC: the method to call', 'reflexpb.Reflex/Stream')
    .option('--token <t>', 'gRPC: bearer token')
    .option('--token-file <path>', 'gRPC: read the bearer token from a file')
    .option('--ca <pem>', 'gRPC: CA certificate file to trust (implies TLS)')
    .option('--cert <pem>', 'gRPC: client certificate file (mutual TLS)')
    .option('--key <pem>', 'gRPC: client key file (mutual TLS)')
    .option('--server-name <name>', 'gRPC: name to check the server certificate against')
    .action(async (sourceText: string, flags: Flags) => {
      const t = tailConfig(sourceText, flags, ctx.signal);
      const open = await openSource(t.source, t.grpcFlags);
      let client: StreamClient | undefined;
      try {
        client = await open.stream(flags.after ?? '', t.options);
        await printEvents(client, t, flags, ctx);
      } catch (err) {
        if (isHeadReachedErr(err)) return;
        if (ctx.signal.aborted && isExpected(err)) return;
        throw runtimeError(`streaming from ${open.display}`, err);
      } finally {
        await client?.close().catch(() => {});
        await open.close().catch(() => {});
      }
    });
  examples(
    cmd,
    'reflex tail sqlite:app.db --table user_events --to-head',
    'reflex tail 127.0.0.1:9000 --from-head',
    'reflex tail grpcs://events.internal:9000 --token-file token.txt --types 1,2 --json | jq .foreignId',
  );
}
