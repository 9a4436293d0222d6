import { readFileSync } from 'node:fs';
import type { StreamFunc } from '../core/index.js';
import type { ReflexClientOptions } from '../grpc/index.js';
import { newEventsTable } from '../rsql/index.js';
import { checkIdentifier, openDb } from './db.js';
import { usageError } from './errors.js';
import { loadGrpc } from './lazy.js';
import type { GrpcSource, Source } from './url.js';

/** Flags of a gRPC client (tail). */
export interface GrpcClientFlags {
  readonly method?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

/** An open stream source: its StreamFunc and how to release it. */
export interface OpenSource {
  readonly stream: StreamFunc;
  readonly display: string;
  close(): Promise<void>;
}

/** Reads a file named by a flag, as a usage error when it cannot be read. */
export function readFlagFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(
      `${flag} ${path}: ${err instanceof Error && 'code' in err ? String(err.code) : 'unreadable'}`,
    );
  }
}

/** The bearer token of `--token` or `--token-file` (the file keeps it out of `ps`). */
export function tokenOf(flags: { token?: string; tokenFile?: string }): string | undefined {
  if (flags.token !== undefined && flags.tokenFile !== undefined) {
    throw usageError('give --token or --token-file, not both');
  }
  if (flags.tokenFile !== undefined) {
    const t = readFlagFile(flags.tokenFile, '--token-file').trim();
    if (t === '') throw usageError(`--token-file ${flags.tokenFile} is empty`);
    return t;
  }
  if (flags.token === '') throw usageError('--token must not be empty');
  return flags.token;
}

/** Connects to a gRPC server of reflex streams (lazily: errors come with the first stream). */
export async function openGrpcSource(
  source: GrpcSource,
  flags: GrpcClientFlags,
): Promise<OpenSource> {
  const { newReflexClient } = await loadGrpc();
  const tlsWanted =
    source.tls ||
    flags.ca !== undefined ||
    flags.cert !== undefined ||
    flags.serverName !== undefined;
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw usageError('--cert and --key go together');
  }
  const token = tokenOf(flags);
  const options: ReflexClientOptions = {
    ...(tlsWanted
      ? {
          tls: {
            ...(flags.ca === undefined ? {} : { ca: readFlagFile(flags.ca, '--ca') }),
            ...(flags.cert === undefined ? {} : { cert: readFlagFile(flags.cert, '--cert') }),
            ...(flags.key === undefined ? {} : { key: readFlagFile(flags.key, '--key') }),
            ...(flags.serverName === undefined ? {} : { serverName: flags.serverName }),
          },
        }
      : {}),
    ...(token === undefined ? {} : { token }),
  };
  let client: import('../grpc/index.js').ReflexClient;
  let stream: StreamFunc;
  try {
    client = newReflexClient(source.address, options);
    stream = flags.method === undefined ? client.stream : client.streamFunc(flags.method);
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
  return {
    stream,
    display: flags.method === undefined ? source.display : `${source.display} ${flags.method}`,
    close: () => client.close(),
  };
}

/** Flags naming an events table and its columns. */
export interface EventsTableFlags {
  readonly table?: string;
  readonly idColumn?: string;
  readonly metadataColumn?: string;
}

/** Opens any source of `reflex tail`: a gRPC server, or an events table through reflex-events/rsql. */
export async function openSource(
  source: Source,
  flags: GrpcClientFlags & EventsTableFlags,
): Promise<OpenSource> {
  if (source.kind === 'grpc') {
    if (flags.table !== undefined)
      throw usageError('--table is for database URLs, not gRPC addresses');
    return openGrpcSource(source, flags);
  }
  if (flags.table === undefined) throw usageError('--table is required with a database URL');
  const table = newEventsTable(checkIdentifier(flags.table, '--table'), {
    ...(flags.idColumn === undefined
      ? {}
      : { idColumn: checkIdentifier(flags.idColumn, '--id-column') }),
    ...(flags.metadataColumn === undefined
      ? {}
      : { metadataColumn: checkIdentifier(flags.metadataColumn, '--metadata-column') }),
  });
  const db = await openDb(source);
  return {
    stream: table.toStream(db.handle),
    display: `${flags.table} on ${db.display}`,
    async close() {
      await table.close();
      await db.close();
    },
  };
}
