// A TCP proxy on loopback that can turn into a black hole: after blackHole(), the connections it
// holds stop forwarding bytes in both directions without closing (as a peer that vanished behind
// a NAT, or a dropped route); connections made afterwards are forwarded normally.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections the client side still holds open. */
  readonly open: number;
  /** The connections open now stop forwarding (nothing is closed). */
  blackHole(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs: { holed: boolean }[] = [];
  let connections = 0;
  let open = 0;
  const server: Server = createServer((client) => {
    connections++;
    open++;
    client.once('close', () => open--);
    const pair = { holed: false };
    pairs.push(pair);
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => {
      if (!pair.holed) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!pair.holed) client.write(d);
    });
    // A close is forwarded only while bytes are: a black hole closes nothing.
    client.on('close', () => {
      if (!pair.holed) upstream.destroy();
    });
    upstream.on('close', () => {
      if (!pair.holed) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    get connections() {
      return connections;
    },
    get open() {
      return open;
    },
    blackHole() {
      for (const p of pairs) p.holed = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
