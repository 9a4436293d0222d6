import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusMonitor } from '../../status/index.js';
import { statusHandler } from '../../status/index.js';
import { runtimeError } from '../errors.js';
import type { HostPort } from './config.js';
import type { PromRegistry } from './metrics.js';

/** The HTTP side of `reflex serve`: /metrics, /status (and its JSON and events), /healthz. */
export interface ServeHttp {
  readonly server: Server;
  /** e.g. `http://127.0.0.1:9464`. */
  readonly base: string;
}

/**
 * Listens on `address` and routes /metrics to `registry`, / and /status… to the status page of
 * `monitor` (guarded by `token` when set), /healthz to "ok". Either may be absent.
 */
export async function listenHttp(
  address: HostPort,
  registry: PromRegistry | undefined,
  monitor: StatusMonitor | undefined,
  token: string | undefined,
): Promise<ServeHttp> {
  const status =
    monitor === undefined
      ? undefined
      : statusHandler(monitor, token === undefined ? {} : { tokens: [token] });
  const notFound = `not found: try ${registry === undefined ? '/status' : status === undefined ? '/metrics' : '/status or /metrics'}\n`;
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (status !== undefined && path === '/') {
      res.writeHead(302, { location: '/status' }).end();
    } else if (status !== undefined && path?.startsWith('/status')) {
      status(req, res, () => res.writeHead(404).end(notFound));
    } else if (registry !== undefined && req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType }).end(text);
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(runtimeError(`cannot serve metrics on ${address.text}`, err)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { server, base: `http://${formatHost(address.host)}:${port}` };
}

/** Stops listening and drops every open connection (the status page's event streams stay open). */
export async function closeHttp(http: ServeHttp | undefined): Promise<void> {
  if (http === undefined) return;
  await new Promise<void>((resolve) => {
    http.server.close(() => resolve());
    http.server.closeAllConnections();
  });
}

/** A host as it goes in a URL or address: IPv6 in brackets. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
