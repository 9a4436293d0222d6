// Private nats-server processes for the JetStream tests: one node, or a 3-node JetStream cluster
// on loopback, each with its own storage directory and free ports. Every process is killed by
// `stop()` (call it in an after hook).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One nats-server process that can be killed and started again on the same ports and storage. */
export class NatsNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(name: string, port: number, args: string[]) {
    this.name = name;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.#args = args;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the process and waits (≤ 10 s) until it accepts connections. */
  async start(): Promise<void> {
    const child = spawn('nats-server', this.#args, { stdio: 'ignore' });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(this.port))) {
      if (child.exitCode !== null) throw new Error(`nats-server ${this.name} exited at start`);
      if (Date.now() > deadline) throw new Error(`nats-server ${this.name} did not listen`);
      await delay(50);
    }
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.#exited;
  }
}

/** A set of nats-server processes and their storage, removed by `stop()`. */
export class NatsServers {
  readonly nodes: NatsNode[];
  readonly #dir: string;

  private constructor(nodes: NatsNode[], dir: string) {
    this.nodes = nodes;
    this.#dir = dir;
  }

  /** Every client URL, comma-separated. */
  get urls(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  /** One JetStream server on a free port. */
  static async single(): Promise<NatsServers> {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-nats-'));
    const port = await freePort();
    const node = new NatsNode('n1', port, [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      join(dir, 'n1'),
      '-n',
      'n1',
    ]);
    const servers = new NatsServers([node], dir);
    try {
      await node.start();
    } catch (err) {
      await servers.stop();
      throw err;
    }
    return servers;
  }

  /** A JetStream cluster of `size` nodes with routes between them on 127.0.0.1. */
  static async cluster(size = 3): Promise<NatsServers> {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-nats-cluster-'));
    const clientPorts: number[] = [];
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) {
      clientPorts.push(await freePort());
      clusterPorts.push(await freePort());
    }
    const clusterName = `reflex_${process.pid}_${Date.now().toString(36)}`;
    const nodes = clientPorts.map((port, i) => {
      const name = `n${i + 1}`;
      const routes = clusterPorts
        .filter((_, j) => j !== i)
        .map((p) => `nats://127.0.0.1:${p}`)
        .join(',');
      return new NatsNode(name, port, [
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-js',
        '-sd',
        join(dir, name),
        '-n',
        name,
        '--cluster_name',
        clusterName,
        '--cluster',
        `nats://127.0.0.1:${clusterPorts[i]}`,
        '--routes',
        routes,
      ]);
    });
    const servers = new NatsServers(nodes, dir);
    try {
      await Promise.all(nodes.map((n) => n.start()));
    } catch (err) {
      await servers.stop();
      throw err;
    }
    return servers;
  }

  /** Kills every process (SIGKILL) and removes the storage. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
