import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import type { MetricsRegistry, StreamFunc } from '../../core/index.js';
import type { ServeOptions } from '../../grpc/index.js';
import { type EventsTable, newEventsTable } from '../../rsql/index.js';
import { type StatusMonitor, statusHandler } from '../../status/index.js';
import { type CliContext, examples } from '../context.js';
import { checkIdentifier, openDb } from '../db.js';
import { parseDuration, parsePort } from '../duration.js';
import { runtimeError, usageError } from '../errors.js';
import { loadGrpc } from '../lazy.js';
import { readFlagFile, tokenOf } from '../sources.js';
import { parseDbUrl } from '../url.js';
import { openStatusMonitor, type StatusFlags, statusOptions } from './status.js';

interface Flags extends StatusFlags {
  table: string[];
  address: string;
  metadataColumn?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  requireClientCert?: boolean;
  token?: string;
  tokenFile?: string;
  metricsAddress: string;
  /** False with --no-metrics (commander's negated option). */
  metrics: boolean;
  /** False with --no-status. */
  status: boolean;
  statusInterval: string;
}

/** The method a table is served as: `table` alone is reflexpb.Reflex/Stream, `table=pkg.Svc/Method` names it. */
export function parseTableSpecs(specs: readonly string[]): { table: string; method: string }[] {
  const out: { table: string; method: string }[] = [];
  for (const spec of specs) {
    const [table = '', method] = spec.split('=', 2);
    out.push({
      table: checkIdentifier(table, '--table'),
      method: method ?? 'reflexpb.Reflex/Stream',
    });
  }
  const methods = new Set<string>();
  for (const { method } of out) {
    if (methods.has(method)) {
      throw usageError(
        `two tables served as ${method}: name the others' methods, e.g. --table orders=shop.Orders/Stream`,
      );
    }
    methods.add(method);
  }
  return out;
}

function splitHostPort(address: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d+)$/.exec(address);
  if (m === null) throw usageError(`${flag} must be host:port, got ${JSON.stringify(address)}`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: parsePort(m[2] as string, flag) };
}

interface PromRegistry extends MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}
interface Prom {
  Registry: new () => PromRegistry;
  Gauge: new (config: object) => unknown;
  Counter: new (config: object) => { inc(n: number): void };
  collectDefaultMetrics(config: { register: PromRegistry }): void;
}

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
    .action(async (url: string, flags: Flags) => {
      const source = parseDbUrl(url);
      const tables = parseTableSpecs(([] as string[]).concat(flags.table));
      const grpcAddress = splitHostPort(flags.address, '--address');
      const statusIntervalMs = parseDuration(flags.statusInterval, '--status-interval');
      parseDuration(flags.stalledAfter, '--stalled-after');
      const metricsAddress =
        flags.metrics === false && flags.status === false
          ? undefined
          : splitHostPort(flags.metricsAddress, '--metrics-address');
      const metadataColumn =
        flags.metadataColumn === undefined
          ? undefined
          : checkIdentifier(flags.metadataColumn, '--metadata-column');
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        throw usageError('--tls-cert and --tls-key go together');
      }
      if (flags.requireClientCert === true && flags.tlsCa === undefined) {
        throw usageError('--require-client-cert needs --tls-ca');
      }
      if (flags.tlsCa !== undefined && flags.tlsCert === undefined) {
        throw usageError('--tls-ca needs --tls-cert and --tls-key');
      }
      const token = tokenOf(flags);
      const tls =
        flags.tlsCert === undefined || flags.tlsKey === undefined
          ? undefined
          : {
              cert: readFlagFile(flags.tlsCert, '--tls-cert'),
              key: readFlagFile(flags.tlsKey, '--tls-key'),
              ...(flags.tlsCa === undefined ? {} : { ca: readFlagFile(flags.tlsCa, '--tls-ca') }),
              ...(flags.requireClientCert === true ? { requireClientCert: true } : {}),
            };

      let prom: Prom | undefined;
      if (flags.metrics !== false) {
        try {
          prom = createRequire(import.meta.url)('prom-client') as Prom;
        } catch {
          throw runtimeError(
            'metrics need the prom-client package: npm install prom-client (or pass --no-metrics)',
          );
        }
      }
      const registry = prom === undefined ? undefined : new prom.Registry();
      if (prom !== undefined && registry !== undefined)
        prom.collectDefaultMetrics({ register: registry });

      const grpc = await loadGrpc();
      const db = await openDb(source);
      const opened: EventsTable[] = [];
      let server: Awaited<ReturnType<typeof grpc.serveStreams>> | undefined;
      let http: Server | undefined;
      let monitor: StatusMonitor | undefined;
      try {
        const streams: Record<string, StreamFunc> = {};
        for (const t of tables) {
          const table = newEventsTable(t.table, {
            ...(metadataColumn === undefined ? {} : { metadataColumn }),
            ...(registry === undefined ? {} : { registry }),
          });
          opened.push(table);
          streams[t.method] = table.toStream(db.handle);
        }
        const options: ServeOptions = {
          address: `${grpcAddress.host.includes(':') ? `[${grpcAddress.host}]` : grpcAddress.host}:${grpcAddress.port}`,
          ...(tls === undefined ? {} : { tls }),
          ...(token === undefined ? {} : { authenticate: grpc.bearerTokenAuth([token]) }),
        };
        try {
          server = await grpc.serveStreams(streams, options);
        } catch (err) {
          throw runtimeError(`cannot serve gRPC on ${flags.address}`, err);
        }
        if (prom !== undefined && registry !== undefined) {
          const s = server;
          new prom.Gauge({
            name: 'reflex_serve_open_streams',
            help: 'Streams being served now.',
            registers: [registry],
            collect(this: { set(n: number): void }) {
              this.set(s.openStreams);
            },
          });
          let reported = 0;
          const sent = new prom.Counter({
            name: 'reflex_serve_sent_events_total',
            help: 'Events handed to gRPC since the start.',
            registers: [registry],
            collect() {
              sent.inc(s.sentEvents - reported);
              reported = s.sentEvents;
            },
          });
        }
        if (flags.status !== false) {
          const names = tables.map((t) => t.table);
          monitor = await openStatusMonitor(db, names, flags, {
            grpc: server,
            intervalMs: statusIntervalMs,
          });
        }
        if (metricsAddress !== undefined) {
          const reg = registry;
          const status =
            monitor === undefined
              ? undefined
              : statusHandler(monitor, token === undefined ? {} : { tokens: [token] });
          const notFound = `not found: try ${reg === undefined ? '/status' : status === undefined ? '/metrics' : '/status or /metrics'}\n`;
          http = createServer((req, res) => {
            const path = req.url?.split('?')[0];
            if (status !== undefined && path === '/') {
              res.writeHead(302, { location: '/status' }).end();
            } else if (status !== undefined && path?.startsWith('/status')) {
              status(req, res, () => res.writeHead(404).end(notFound));
            } else if (reg !== undefined && req.method === 'GET' && path === '/metrics') {
              reg.metrics().then(
                (text) => {
                  res.writeHead(200, { 'content-type': reg.contentType }).end(text);
                },
                (err: unknown) => {
                  res.writeHead(500).end(String(err));
                },
              );
            } else if (req.url === '/healthz') {
              res.writeHead(200).end('ok\n');
            } else {
              res.writeHead(404).end(notFound);
            }
          });
          const h = http;
          await new Promise<void>((resolve, reject) => {
            h.once('error', (err) =>
              reject(runtimeError(`cannot serve metrics on ${flags.metricsAddress}`, err)),
            );
            h.listen(metricsAddress.port, metricsAddress.host, () => resolve());
          });
        }
        const httpBase =
          http === undefined
            ? undefined
            : `http://${formatHost(metricsAddress?.host ?? '')}:${(http.address() as AddressInfo).port}`;
        ctx.stdout.write(`grpc ${server.address}\n`);
        if (httpBase !== undefined && registry !== undefined) {
          ctx.stdout.write(`metrics ${httpBase}/metrics\n`);
        }
        if (httpBase !== undefined && monitor !== undefined) {
          ctx.stdout.write(`status ${httpBase}/status\n`);
        }
        for (const t of tables)
          ctx.stderr.write(`serving ${t.table} on ${db.display} as ${t.method}\n`);
        ctx.stderr.write('Ctrl-C or SIGTERM stops\n');
        // Serve until SIGINT/SIGTERM.
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        ctx.stderr.write('stopping\n');
      } finally {
        await monitor?.close();
        await server?.stop();
        const h = http;
        if (h !== undefined) {
          await new Promise<void>((resolve) => {
            h.close(() => resolve());
            h.closeAllConnections();
          });
        }
        for (const t of opened) await t.close();
        await db.close();
      }
    });
  statusOptions(cmd);
  examples(
    cmd,
    'reflex serve sqlite:app.db --table user_events',
    'reflex serve mysql://reflex@db/app --table user_events --table orders=shop.Orders/Stream --address 0.0.0.0:9000',
    'reflex serve postgres://app@db/app --table user_events --tls-cert cert.pem --tls-key key.pem --token-file token',
  );
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
