import { usageError } from './errors.js';

/** A SQL database named on the command line. */
export type DbSource =
  | { readonly kind: 'mysql'; readonly url: string; readonly display: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly display: string }
  | { readonly kind: 'sqlite'; readonly path: string; readonly display: string };

/** A gRPC server named on the command line. */
export interface GrpcSource {
  readonly kind: 'grpc';
  /** `host:port`, as `newReflexClient` takes it. */
  readonly address: string;
  /** True for `grpcs://`: connect with TLS. */
  readonly tls: boolean;
  readonly display: string;
}

/** Anything `reflex tail` can read from. */
export type Source = DbSource | GrpcSource;

const dbForms =
  'mysql://user:pass@host:3306/db, postgres://user@host:5432/db or sqlite:path/to/file.db';
const grpcForms = 'host:port, grpc://host:port or grpcs://host:port';

/**
 * Parses a SQL database URL: `mysql://` (or `mariadb://`), `postgres://` (or `postgresql://`),
 * `sqlite:path` (`sqlite:///abs/path` and `sqlite://rel/path` too). A usage error otherwise.
 */
export function parseDbUrl(text: string): DbSource {
  const source = parseAny(text);
  if (source === undefined || source.kind === 'grpc') {
    throw usageError(`not a database URL: ${JSON.stringify(text)} (expected ${dbForms})`);
  }
  return source;
}

/** Parses a database URL or a gRPC address. A usage error naming the accepted forms otherwise. */
export function parseSource(text: string): Source {
  const source = parseAny(text);
  if (source === undefined) {
    throw usageError(
      `not a database URL or gRPC address: ${JSON.stringify(text)} (expected ${dbForms}, or ${grpcForms})`,
    );
  }
  return source;
}

function parseAny(text: string): Source | undefined {
  const t = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(t)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'mysql':
    case 'mariadb':
      return { kind: 'mysql', ...serverUrl(t, 'mysql') };
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', ...serverUrl(t, 'postgres') };
    case 'sqlite': {
      let path = t.slice('sqlite:'.length);
      if (path.startsWith('//')) path = path.slice(2);
      if (path === '') throw usageError(`sqlite URL without a file: ${JSON.stringify(text)}`);
      return { kind: 'sqlite', path, display: `sqlite:${path}` };
    }
    case 'grpc':
    case 'grpcs': {
      const rest = t
        .slice(scheme.length + 1)
        .replace(/^\/\//, '')
        .replace(/\/$/, '');
      const address = hostPort(rest);
      if (address === undefined) return undefined;
      return { kind: 'grpc', address, tls: scheme === 'grpcs', display: `${scheme}://${address}` };
    }
    default: {
      const address = hostPort(t);
      if (address === undefined) return undefined;
      return { kind: 'grpc', address, tls: false, display: address };
    }
  }
}

function hostPort(text: string): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+):(\d{1,5})$/i.exec(text);
  if (m === null || Number(m[2]) > 65535) return undefined;
  return text;
}

function serverUrl(text: string, kind: string): { url: string; display: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw usageError(`malformed ${kind} URL: ${JSON.stringify(redact(text))}`);
  }
  if (u.hostname === '')
    throw usageError(`${kind} URL without a host: ${JSON.stringify(redact(text))}`);
  if (kind === 'mysql' && u.protocol === 'mariadb:') {
    u = new URL(`mysql:${text.slice('mariadb:'.length)}`);
  }
  return { url: u.toString(), display: redact(u.toString()) };
}

/** The URL with its password replaced by `***`, for messages. */
export function redact(text: string): string {
  try {
    const u = new URL(text);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}
