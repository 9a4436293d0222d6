import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, intOption } from '../internal/options.js';
import type { StatusMonitor } from './monitor.js';
import { statusPage } from './page.js';

/** Options of {@link statusHandler}. */
export interface StatusHandlerOptions {
  /**
   * Where the page is served; the JSON is at `<basePath>.json` and the live updates (server-sent
   * events) at `<basePath>/events`. @default '/status'
   */
  readonly basePath?: string;
  /**
   * Bearer tokens, one of which every request must carry (`Authorization: Bearer <token>`): the
   * same as the gRPC server's. A browser opens `<basePath>?token=<token>` once; the token is then
   * kept in an HttpOnly cookie. Serve over TLS or on loopback: it travels in clear otherwise.
   * @default none: no check
   */
  readonly tokens?: readonly string[];
  /** The page's title. @default 'reflex status' */
  readonly title?: string;
  /** Live-update connections open at once; more get 503. @default 64 */
  readonly maxLiveClients?: number;
}

/** A request handler of `node:http` (and of connect/Express: it calls `next` for other paths). */
export type StatusRequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: () => void,
) => void;

const cookieName = 'reflex_status_token';
/** A comment line on the live connection now and then, so proxies do not close it as idle. */
const keepAliveMs = 15_000;

/**
 * Serves a monitor's status: the page at `basePath`, its JSON at `<basePath>.json`, live updates
 * as server-sent events at `<basePath>/events`. The page is self-contained (inline script and
 * styles, nothing fetched from elsewhere). Mount it on any `node:http` server, or as connect /
 * Express middleware; requests for other paths go to `next`, or get 404 without one.
 *
 * @example
 * const monitor = newStatusMonitor(pool, { streams: [{ events: 'user_events' }] });
 * const status = statusHandler(monitor, { tokens: [process.env.STATUS_TOKEN] });
 * http.createServer((req, res) => status(req, res, () => res.writeHead(404).end())).listen(8080);
 */
export function statusHandler(
  monitor: StatusMonitor,
  options: StatusHandlerOptions = {},
): StatusRequestHandler {
  const { base, tokens, maxLive } = handlerConfig(options);
  const html = statusPage({ title: options.title ?? 'reflex status', basePath: base });
  const live = { count: 0, max: maxLive };
  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    const route = routeOf(url.pathname, base);
    if (route === undefined) {
      if (next !== undefined) next();
      else res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${base}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    if (!authorized(tokens, req, url.searchParams)) {
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end(
          `unauthorized: send "Authorization: Bearer <token>", or open ${base}?token=<token> in a browser\n`,
        );
      return;
    }
    if (route === 'page') servePage(req, res, url, base, html);
    else if (route === 'json') serveJson(monitor, req, res);
    else serveEvents(monitor, req, res, live);
  };
}

/** The handler's options, checked. */
function handlerConfig(options: StatusHandlerOptions): {
  base: string;
  tokens: Buffer[] | undefined;
  maxLive: number;
} {
  checkOptionKeys(options, ['basePath', 'tokens', 'title', 'maxLiveClients'], 'status handler');
  const base = options.basePath ?? '/status';
  if (typeof base !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(base)) {
    throw invalidArgument(
      `status basePath must be a path like /status, got ${JSON.stringify(base)}`,
    );
  }
  const tokens = options.tokens?.map((t) => {
    if (typeof t !== 'string' || t === '') {
      throw invalidArgument('a status token must be a non-empty string');
    }
    return Buffer.from(t);
  });
  if (tokens !== undefined && tokens.length === 0) {
    throw invalidArgument('status tokens must hold at least one token (or be left out)');
  }
  return { base, tokens, maxLive: intOption(options.maxLiveClients, 'maxLiveClients', 64, 1) };
}

type Route = 'page' | 'json' | 'events';

function routeOf(path: string, base: string): Route | undefined {
  if (path === base || path === `${base}/`) return 'page';
  if (path === `${base}.json`) return 'json';
  if (path === `${base}/events`) return 'events';
  return undefined;
}

/** A token in the Authorization header, the cookie or the query, compared in constant time. */
function authorized(
  tokens: readonly Buffer[] | undefined,
  req: IncomingMessage,
  query: URLSearchParams,
): boolean {
  if (tokens === undefined) return true;
  const header = req.headers.authorization;
  const candidates: string[] = [];
  if (typeof header === 'string' && header.startsWith('Bearer ')) candidates.push(header.slice(7));
  const cookie = cookieValue(req.headers.cookie, cookieName);
  if (cookie !== undefined) candidates.push(cookie);
  const q = query.get('token');
  if (q !== null) candidates.push(q);
  return candidates.some((c) => {
    const got = Buffer.from(c);
    return tokens.some((w) => w.length === got.length && timingSafeEqual(w, got));
  });
}

const security = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function servePage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  base: string,
  html: string,
): void {
  if (url.searchParams.has('token')) {
    // Keep the token in a cookie and take it out of the address bar (and the history).
    const token = url.searchParams.get('token') ?? '';
    res
      .writeHead(303, {
        ...security,
        location: base,
        'set-cookie': `${cookieName}=${encodeURIComponent(token)}; Path=${base}; HttpOnly; SameSite=Strict`,
      })
      .end();
    return;
  }
  res
    .writeHead(200, {
      ...security,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
      'x-frame-options': 'DENY',
    })
    .end(req.method === 'HEAD' ? undefined : html);
}

function serveJson(monitor: StatusMonitor, req: IncomingMessage, res: ServerResponse): void {
  monitor.snapshot().then(
    (s) => {
      res
        .writeHead(200, { ...security, 'content-type': 'application/json' })
        .end(req.method === 'HEAD' ? undefined : `${JSON.stringify(s)}\n`);
    },
    (err: unknown) => {
      res
        .writeHead(503, { 'content-type': 'text/plain' })
        .end(`status unavailable: ${String(err)}\n`);
    },
  );
}

/** Server-sent events: every new snapshot, at most `live.max` clients at once. */
function serveEvents(
  monitor: StatusMonitor,
  req: IncomingMessage,
  res: ServerResponse,
  live: { count: number; readonly max: number },
): void {
  if (live.count >= live.max) {
    res
      .writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' })
      .end('too many live clients\n');
    return;
  }
  live.count++;
  res.writeHead(200, {
    ...security,
    'content-type': 'text/event-stream',
    connection: 'keep-alive',
  });
  // A slow reader gets the latest snapshot when it drains, not a queue of stale ones.
  let waiting: string | undefined;
  let blocked = false;
  const send = (data: string): void => {
    if (blocked) {
      waiting = data;
      return;
    }
    if (!res.write(data)) blocked = true;
  };
  const onDrain = (): void => {
    blocked = false;
    const w = waiting;
    waiting = undefined;
    if (w !== undefined) send(w);
  };
  res.on('drain', onDrain);
  const push = (s: unknown): void => send(`data: ${JSON.stringify(s)}\n\n`);
  res.write('retry: 3000\n\n');
  const unsubscribe = monitor.onUpdate(push);
  monitor.snapshot().then(push, () => undefined);
  const ping = setInterval(() => send(': keep-alive\n\n'), keepAliveMs);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    live.count--;
    clearInterval(ping);
    unsubscribe();
    res.off('drain', onDrain);
  };
  res.once('close', close);
  req.once('close', close);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
