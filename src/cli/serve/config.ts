import type { ServeOptions } from '../../grpc/index.js';
import type { StatusFlags } from '../commands/status.js';
import { checkIdentifier } from '../db.js';
import { parseDuration, parsePort } from '../duration.js';
import { usageError } from '../errors.js';
import { readFlagFile, tokenOf } from '../sources.js';
import { type DbSource, parseDbUrl } from '../url.js';
import { type LimitFlags, type ServeLimits, serveLimits } from './limits.js';

/** The flags of `reflex serve`, as commander gives them. */
export interface ServeFlags extends StatusFlags, LimitFlags {
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

/** A listening address from a flag. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** As given on the command line, for messages. */
  readonly text: string;
}

/** A served table and the gRPC method it is served as. */
export interface TableSpec {
  readonly table: string;
  readonly method: string;
}

/** Everything `reflex serve` needs, checked before anything is opened (bad flags are usage errors). */
export interface ServeConfig {
  readonly source: DbSource;
  readonly tables: readonly TableSpec[];
  readonly grpcAddress: HostPort;
  /** Undefined with --no-metrics --no-status: no HTTP server. */
  readonly httpAddress: HostPort | undefined;
  readonly metrics: boolean;
  readonly status: boolean;
  readonly statusIntervalMs: number;
  readonly metadataColumn: string | undefined;
  readonly token: string | undefined;
  readonly tls: ServeOptions['tls'];
  readonly limits: ServeLimits;
}

/** Checks the flags and reads the files they name (TLS, token). */
export function serveConfig(url: string, flags: ServeFlags): ServeConfig {
  const source = parseDbUrl(url);
  const tables = parseTableSpecs(([] as string[]).concat(flags.table));
  const grpcAddress = splitHostPort(flags.address, '--address');
  const statusIntervalMs = parseDuration(flags.statusInterval, '--status-interval');
  parseDuration(flags.stalledAfter, '--stalled-after');
  const metrics = flags.metrics !== false;
  const status = flags.status !== false;
  const httpAddress =
    metrics || status ? splitHostPort(flags.metricsAddress, '--metrics-address') : undefined;
  const metadataColumn =
    flags.metadataColumn === undefined
      ? undefined
      : checkIdentifier(flags.metadataColumn, '--metadata-column');
  return {
    source,
    tables,
    grpcAddress,
    httpAddress,
    metrics,
    status,
    statusIntervalMs,
    metadataColumn,
    token: tokenOf(flags),
    tls: tlsOf(flags),
    limits: serveLimits(flags),
  };
}

function tlsOf(flags: ServeFlags): ServeOptions['tls'] {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw usageError('--tls-cert and --tls-key go together');
  }
  if (flags.requireClientCert === true && flags.tlsCa === undefined) {
    throw usageError('--require-client-cert needs --tls-ca');
  }
  if (flags.tlsCa !== undefined && flags.tlsCert === undefined) {
    throw usageError('--tls-ca needs --tls-cert and --tls-key');
  }
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) return undefined;
  return {
    cert: readFlagFile(flags.tlsCert, '--tls-cert'),
    key: readFlagFile(flags.tlsKey, '--tls-key'),
    ...(flags.tlsCa === undefined ? {} : { ca: readFlagFile(flags.tlsCa, '--tls-ca') }),
    ...(flags.requireClientCert === true ? { requireClientCert: true } : {}),
  };
}

/** The method a table is served as: `table` alone is reflexpb.Reflex/Stream, `table=pkg.Svc/Method` names it. */
export function parseTableSpecs(specs: readonly string[]): TableSpec[] {
  const out: TableSpec[] = [];
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

/** `host:port` or `[v6]:port` of a flag. */
export function splitHostPort(address: string, flag: string): HostPort {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d+)$/.exec(address);
  if (m === null) throw usageError(`${flag} must be host:port, got ${JSON.stringify(address)}`);
  return {
    host: (m[1] as string).replace(/^\[|\]$/g, ''),
    port: parsePort(m[2] as string, flag),
    text: address,
  };
}
