import type { Command } from 'commander';
import type { StreamFunc } from '../../core/index.js';
import type { ReflexServer, ServeOptions } from '../../grpc/index.js';
import { type EventsTable, newEventsTable } from '../../rsql/index.js';
import type { StatusMonitor } from '../../status/index.js';
import { type CliContext, examples } from '../context.js';
import { type Db, openDb } from '../db.js';
import { runtimeError } from '../errors.js';
import { loadGrpc } from '../lazy.js';
import { type ServeConfig, type ServeFlags, serveConfig } from '../serve/config.js';
import { closeHttp, formatHost, listenHttp, type ServeHttp } from '../serve/http.js';
import { limitOptions, stderrLogger } from '../serve/limits.js';
import { openServeMetrics, type ServeMetrics } from '../serve/metrics.js';
import { openStatusMonitor, statusOptions } from './status.js';

export { parseTableSpecs } from '../serve/config.js';

/** `reflex serve`: serve events tables over gRPC, with Prometheus metrics over HTTP. */
export function registerServe(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve')
    .argument('<db-url>', 'mysql://…, postgres://… or sqlite:file')
    .description(
      'serve events tables over gRPC (reflexpb.Reflex/Stream, readable by Go and TypeScript reflex clients), with Prometheus metrics over HTTP; stops cleanly on SIGINT/SIGTERM',
    )
    .requiredOption(
      '--table <table...>',
      'events tables to serve, as table or table=pkg.Service/Method; one may use the default method reflexpb.Reflex/Stream, name the others: orders=shop.Orders/Stream',
    )
    .option('--address <host:port>', 'where gRPC listens (port 0: any free port)', '127.0.0.1:9000')
    .option('--metadata-column <name>', 'the tables’ metadata column (sent with each event)')
    .option('--tls-cert <pem>', 'serve TLS with this certificate chain file')
    .option('--tls-key <pem>', 'the key of --tls-cert')
    .option('--tls-ca <pem>', 'CA file for client certificates')
    .option('--require-client-cert', 'refuse clients without a certificate signed by --tls-ca')
    .option('--token <t>', 'require this bearer token (use with TLS)')
    .option('--token-file <path>', 'require the bearer token in this file')
    .option(
      '--metrics-address <host:port>',
      'the HTTP address of /metrics and of the live status page /status',
      '127.0.0.1:9464',
    )
    .option('--no-metrics', 'no /metrics endpoint')
    .option('--no-status', 'no status page')
    .option('--status-interval <d>', 'time between samples of the status page', '2s')
    .action(async (url: string, flags: ServeFlags) => {
      await serve(serveConfig(url, flags), flags, ctx);
    });
  statusOptions(cmd);
  limitOptions(cmd);
  examples(
    cmd,
    'reflex serve sqlite:app.db --table user_events',
    'reflex serve mysql://reflex@db/app --table user_events --table orders=shop.Orders/Stream --address 0.0.0.0:9000',
    'reflex serve postgres://app@db/app --table user_events --tls-cert cert.pem --tls-key key.pem --token-file token',
  );
}

/** What a running `reflex serve` holds; closed in reverse order of opening. */
interface Serving {
  db?: Db;
  tables: EventsTable[];
  server?: ReflexServer;
  monitor?: StatusMonitor;
  http?: ServeHttp;
}

/** Opens everything, prints where it listens, serves until the context's signal, then closes all. */
async function serve(config: ServeConfig, flags: ServeFlags, ctx: CliContext): Promise<void> {
  const metrics = config.metrics ? openServeMetrics() : undefined;
  const grpc = await loadGrpc();
  const s: Serving = { tables: [] };
  try {
    if (config.token !== undefined && config.tls === undefined) {
      ctx.stderr.write(
        'warning: --token without --tls-cert: the token travels in clear, anyone on the path can read and replay it\n',
      );
    }
    const db = await openDb(config.source);
    s.db = db;
    await checkTables(db, config);
    const streams = openStreams(db, config, metrics, s.tables);
    const options: ServeOptions = {
      address: `${formatHost(config.grpcAddress.host)}:${config.grpcAddress.port}`,
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      ...(config.token === undefined ? {} : { authenticate: grpc.bearerTokenAuth([config.token]) }),
      ...config.limits,
      logger: stderrLogger(ctx.stderr),
    };
    try {
      s.server = await grpc.serveStreams(streams, options);
    } catch (err) {
      throw runtimeError(`cannot serve gRPC on ${config.grpcAddress.text}`, err);
    }
    metrics?.watchServer(s.server);
    if (config.status) {
      const names = config.tables.map((t) => t.table);
      s.monitor = await openStatusMonitor(db, names, flags, {
        grpc: s.server,
        intervalMs: config.statusIntervalMs,
      });
    }
    if (config.httpAddress !== undefined) {
      s.http = await listenHttp(config.httpAddress, metrics?.registry, s.monitor, config.token);
    }
    announce(ctx, config, s, db);
    await stopped(ctx.signal);
    ctx.stderr.write('stopping\n');
  } finally {
    await closeServing(s);
  }
}

/** Every client would get "table doesn't exist" otherwise: refuse to start instead. */
async function checkTables(db: Db, config: ServeConfig): Promise<void> {
  for (const t of config.tables) {
    await db.query(`SELECT 1 FROM ${db.quote(t.table)} WHERE 1 = 0`).catch((err: unknown) => {
      throw runtimeError(
        `cannot serve ${t.table}: it cannot be read in ${db.display} (does it exist? reflex migrate creates it)`,
        err,
      );
    });
  }
}

/** One stream per served table, keyed by its gRPC method. */
function openStreams(
  db: Db,
  config: ServeConfig,
  metrics: ServeMetrics | undefined,
  opened: EventsTable[],
): Record<string, StreamFunc> {
  const streams: Record<string, StreamFunc> = {};
  for (const t of config.tables) {
    const table = newEventsTable(t.table, {
      ...(config.metadataColumn === undefined ? {} : { metadataColumn: config.metadataColumn }),
      ...(metrics === undefined ? {} : { registry: metrics.registry }),
    });
    opened.push(table);
    streams[t.method] = table.toStream(db.handle);
  }
  return streams;
}

/** Addresses on stdout (scripts read them), the rest on stderr. */
function announce(ctx: CliContext, config: ServeConfig, s: Serving, db: Db): void {
  ctx.stdout.write(`grpc ${s.server?.address}\n`);
  if (s.http !== undefined && config.metrics) ctx.stdout.write(`metrics ${s.http.base}/metrics\n`);
  if (s.http !== undefined && s.monitor !== undefined) {
    ctx.stdout.write(`status ${s.http.base}/status\n`);
  }
  for (const t of config.tables) {
    ctx.stderr.write(`serving ${t.table} on ${db.display} as ${t.method}\n`);
  }
  ctx.stderr.write('Ctrl-C or SIGTERM stops\n');
}

/** Resolves when SIGINT/SIGTERM aborts the context's signal. */
async function stopped(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function closeServing(s: Serving): Promise<void> {
  await s.monitor?.close();
  await s.server?.stop();
  await closeHttp(s.http);
  for (const t of s.tables) await t.close();
  await s.db?.close();
}
