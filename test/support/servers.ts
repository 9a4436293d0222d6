import { connect } from 'node:net';
import type { TestContext } from 'node:test';

/** A server a test needs: the environment variable that names it and its local default. */
export interface ServerSpec {
  readonly envVar: string;
  readonly defaultUrl: string;
}

export const mysqlServer: ServerSpec = {
  envVar: 'REFLEX_TEST_MYSQL_URL',
  defaultUrl: 'mysql://root@127.0.0.1:3306/test',
};
export const postgresServer: ServerSpec = {
  envVar: 'REFLEX_TEST_POSTGRES_URL',
  defaultUrl: 'postgres://postgres@127.0.0.1:5432/test',
};
export const natsServer: ServerSpec = {
  envVar: 'REFLEX_TEST_NATS_URL',
  defaultUrl: 'nats://127.0.0.1:4222',
};

export const redisServer: ServerSpec = {
  envVar: 'REFLEX_TEST_REDIS_URL',
  defaultUrl: 'redis://127.0.0.1:6379',
};

/** The URL of the server: its environment variable, else the local default. */
export function serverUrl(spec: ServerSpec): string {
  return process.env[spec.envVar] ?? spec.defaultUrl;
}

function reachable(url: string, timeoutMs = 2000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    const done = (ok: boolean): void => {
      socket.destroy();
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The server's URL when it answers. When it does not: with `CI` set the test fails (CI must have
 * every server); without, the test is skipped with a message naming the variable, and this
 * returns undefined.
 */
export async function requireServer(t: TestContext, spec: ServerSpec): Promise<string | undefined> {
  const url = serverUrl(spec);
  if (await reachable(url)) return url;
  const message = `server ${url} unreachable (set ${spec.envVar})`;
  if (process.env.CI) throw new Error(message);
  t.skip(message);
  return undefined;
}

/** A table name unique to this test run, safe as an SQL identifier. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
}
