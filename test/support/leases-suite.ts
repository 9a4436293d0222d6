import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { codeOf, ErrorCode } from '../../src/core/index.js';
import { fnv1Hash32 } from '../../src/rpatterns/index.js';
import {
  type CursorsTable,
  newCursorsTable,
  newEventsTable,
  newLeasesTable,
  type SqlDatabase,
} from '../../src/rsql/index.js';
import { newStatusMonitor } from '../../src/status/index.js';
import { uniqueName } from './servers.js';
import type { ShardChildConfig } from './shard-child.js';
import { waitFor } from './wait.js';

/** One database for the leases suite. */
export interface LeasesDb {
  readonly dialect: ShardChildConfig['dialect'];
  /** What a child process connects to: a server URL or the SQLite file. */
  readonly url: string;
  readonly db: SqlDatabase;
  /** Inserts `count` events in one transaction. */
  insert(events: string, count: number): Promise<void>;
  /** Runs a statement (DDL, cleanup). */
  exec(sql: string): Promise<void>;
  /** Reads every row of a query. */
  rows(sql: string): Promise<unknown[][]>;
  quote(name: string): string;
  close(): Promise<void>;
}

export type LeasesDbFactory = (t: TestContext) => Promise<LeasesDb | undefined>;

const childScript = fileURLToPath(new URL('./shard-child.js', import.meta.url));

/** Children of this test file: every one is killed in `after`, none is ever respawned. */
export class Children {
  readonly #all: ChildProcess[] = [];
  readonly max: number;

  constructor(max = 6) {
    this.max = max;
  }

  async start(config: ShardChildConfig): Promise<ChildProcess> {
    if (this.#all.length >= this.max) {
      throw new Error(`refusing to start more than ${this.max} children`);
    }
    const child = spawn(process.execPath, [childScript, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.#all.push(child);
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      out += d;
    });
    await waitFor(
      `child ${config.member} ready`,
      () => out.includes('ready') || child.exitCode !== null,
      30_000,
    );
    if (child.exitCode !== null) throw new Error(`child ${config.member} exited early`);
    return child;
  }

  /** Stops every child still running: SIGCONT (a paused one), then SIGTERM, SIGKILL after 5 s. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.#all.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGCONT');
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

async function cursorsOf(
  h: LeasesDb,
  cursors: CursorsTable,
  names: readonly string[],
): Promise<number[]> {
  return Promise.all(names.map(async (n) => Number((await cursors.getCursor(h.db, n)) || 0)));
}

/** The suite every SQL database passes: fencing, bad input, and processes killed, paused and added. */
export function leasesSuite(name: string, factory: LeasesDbFactory): void {
  describe(`leased shards on ${name}`, () => {
    it('fences cursor writes: a stale holder can move the cursor neither forward nor back', async (t) => {
      const h = await factory(t);
      if (h === undefined) return;
      const leases = newLeasesTable(uniqueName('leases'));
      const cursors = newCursorsTable(uniqueName('cursors'));
      t.after(async () => {
        await h.exec(`DROP TABLE IF EXISTS ${h.quote(leases.name)}`);
        await h.exec(`DROP TABLE IF EXISTS ${h.quote(cursors.name)}`);
        await h.close();
      });
      await leases.createTable(h.db);
      await cursors.createTable(h.db);
      const opts = {
        group: 'fence',
        shards: 2,
        cursors,
        leasePeriodMs: 400,
        renewIntervalMs: 100,
        cursorFlushMs: 0,
      };
      const a = leases.toGroup(h.db, { ...opts, memberId: 'a' });
      const b = leases.toGroup(h.db, { ...opts, memberId: 'b' });
      await a.join();
      const [la] = await a.acquire([0]);
      assert.deepEqual(la, { shard: 0, token: 1 });
      assert.deepEqual(await b.acquire([0]), [], 'a live lease is not taken');
      const sa = a.cursorStore(la);
      await sa.setCursor('fence_1_of_2', '5');
      assert.equal(await cursors.getCursor(h.db, 'fence_1_of_2'), '5');
      // a stops renewing: once its lease has expired, b takes the shard with a new token.
      await waitFor(
        'the lease expired',
        async () => (await leases.holders(h.db, 'fence')).holders[0] === '',
        5000,
      );
      await b.join();
      const [lb] = await b.acquire([0]);
      assert.deepEqual(lb, { shard: 0, token: 2 });
      await assert.rejects(
        sa.setCursor('fence_1_of_2', '10'),
        (e) => codeOf(e) === ErrorCode.leaseLost,
      );
      await assert.rejects(
        sa.setCursor('fence_1_of_2', '11'),
        (e) => codeOf(e) === ErrorCode.leaseLost,
        'refused for good',
      );
      const stale = a.cursorStore(la);
      await assert.rejects(
        stale.setCursor('fence_1_of_2', '3'),
        (e) => codeOf(e) === ErrorCode.leaseLost,
      );
      await assert.rejects(stale.setCursor('other', '1'), (e) => codeOf(e) === ErrorCode.leaseLost);
      assert.equal(await cursors.getCursor(h.db, 'fence_1_of_2'), '5', 'the zombie moved nothing');
      assert.equal(await cursors.getCursor(h.db, 'other'), '', 'nor created a cursor');
      const sb = b.cursorStore(lb);
      await sb.setCursor('fence_1_of_2', '7');
      assert.equal(await cursors.getCursor(h.db, 'fence_1_of_2'), '7');
      // a renews: it holds nothing, sees both members.
      const state = await a.renew();
      assert.deepEqual(state.held, []);
      assert.deepEqual(state.members, ['a', 'b']);
      assert.deepEqual(state.holders, ['b', '']);
      // A clean leave frees the shard at once.
      await b.leave();
      assert.deepEqual((await leases.holders(h.db, 'fence')).holders, ['', '']);
      await assert.rejects(
        sb.setCursor('fence_1_of_2', '8'),
        (e) => codeOf(e) === ErrorCode.leaseLost,
      );
      // Buffered: the refusal comes at the flush, and the buffered cursor is dropped.
      const [la2] = await a.acquire([1]);
      assert.ok(la2 !== undefined);
      const buffered = leases
        .toGroup(h.db, { ...opts, memberId: 'a', cursorFlushMs: 60_000 })
        .cursorStore(la2);
      await buffered.setCursor('fence_2_of_2', '4');
      await a.release([1]);
      await assert.rejects(buffered.flush(), (e) => codeOf(e) === ErrorCode.leaseLost);
      await assert.rejects(buffered.close(), (e) => codeOf(e) === ErrorCode.leaseLost);
      assert.equal(await cursors.getCursor(h.db, 'fence_2_of_2'), '');
    });

    it('refuses another shard count (ERR_REFLEX_SHARD_COUNT_MISMATCH) and a lease period not longer than the renewal interval', async (t) => {
      const h = await factory(t);
      if (h === undefined) return;
      const leases = newLeasesTable(uniqueName('leases'));
      const cursors = newCursorsTable(uniqueName('cursors'));
      t.after(async () => {
        await h.exec(`DROP TABLE IF EXISTS ${h.quote(leases.name)}`);
        await h.close();
      });
      await leases.createTable(h.db);
      await leases.toGroup(h.db, { group: 'g', shards: 8, cursors }).join();
      const other = leases.toGroup(h.db, { group: 'g', shards: 4, cursors });
      await assert.rejects(
        other.join(),
        (e) => codeOf(e) === ErrorCode.shardCountMismatch && /8 shards stored/.test(String(e)),
      );
      assert.deepEqual(
        (await leases.holders(h.db, 'g')).shards,
        8,
        'the stored group is unchanged',
      );
      assert.throws(
        () =>
          leases.toGroup(h.db, {
            group: 'g',
            shards: 8,
            cursors,
            leasePeriodMs: 1000,
            renewIntervalMs: 1000,
          }),
        (e) =>
          codeOf(e) === ErrorCode.invalidArgument && /longer than renewIntervalMs/.test(String(e)),
      );
      assert.throws(() => leases.toGroup(h.db, { group: 'g', shards: 0, cursors }), /shards/);
      assert.throws(
        () => newLeasesTable('bad name'),
        (e) => codeOf(e) === ErrorCode.invalidArgument,
      );
    });

    it('the status view shows which member holds each shard', async (t) => {
      const h = await factory(t);
      if (h === undefined) return;
      const events = newEventsTable(uniqueName('st_events'));
      const cursors = newCursorsTable(uniqueName('st_cursors'));
      const leases = newLeasesTable(uniqueName('st_leases'));
      t.after(async () => {
        for (const table of [events.name, cursors.name, leases.name]) {
          await h.exec(`DROP TABLE IF EXISTS ${h.quote(table)}`);
        }
        await h.close();
      });
      await events.createTable(h.db);
      await cursors.createTable(h.db);
      await leases.createTable(h.db);
      await h.insert(events.name, 3);
      const a = leases.toGroup(h.db, {
        group: 'st',
        shards: 2,
        cursors,
        cursorFlushMs: 0,
        memberId: 'host:1:a',
      });
      await a.join();
      const [lease] = await a.acquire([0]);
      assert.ok(lease !== undefined);
      await a.cursorStore(lease).setCursor('st_1_of_2', '2');
      await cursors.setCursor(h.db, 'st_2_of_2', '1');
      await cursors.setCursor(h.db, 'plain', '3');
      const monitor = newStatusMonitor(h.db, {
        streams: [{ events, cursors: [cursors] }],
        leases,
        intervalMs: 60_000,
      });
      try {
        const s = await monitor.snapshot();
        const holder = (name: string) => s.consumers.find((c) => c.name === name)?.holder;
        assert.equal(holder('st_1_of_2'), 'host:1:a');
        assert.equal(holder('st_2_of_2'), '', 'a free shard');
        assert.equal(holder('plain'), null, 'not a leased shard');
        assert.deepEqual(s.problems, []);
      } finally {
        await monitor.close();
      }
    });

    it('3–5 processes consume 20,000 events over 8 shards while killed (SIGKILL), paused past their lease (SIGSTOP/SIGCONT) and added', async (t) => {
      const h = await factory(t);
      if (h === undefined) return;
      const dir = mkdtempSync(join(tmpdir(), 'reflex-leases-'));
      const events = newEventsTable(uniqueName('lease_events'));
      const cursors = newCursorsTable(uniqueName('lease_cursors'));
      const leases = newLeasesTable(uniqueName('leases'));
      const children = new Children(6);
      t.after(async () => {
        await children.stopAll();
        for (const table of [events.name, cursors.name, leases.name]) {
          await h.exec(`DROP TABLE IF EXISTS ${h.quote(table)}`);
        }
        await h.close();
        rmSync(dir, { recursive: true, force: true });
      });
      await events.createTable(h.db);
      await cursors.createTable(h.db);
      await leases.createTable(h.db);
      const shards = 8;
      const leasePeriodMs = 1000;
      const config = (member: string): ShardChildConfig => ({
        dialect: h.dialect,
        url: h.url,
        events: events.name,
        cursors: cursors.name,
        leases: leases.name,
        group: 'chaos',
        shards,
        member,
        out: join(dir, `${member}.log`),
        leasePeriodMs,
        renewIntervalMs: 250,
        cursorFlushMs: 200,
        maxMs: 60_000,
      });
      const names = Array.from({ length: shards }, (_, i) => `chaos_${i + 1}_of_${shards}`);
      const [c1, c2] = await Promise.all(['c1', 'c2', 'c3'].map((m) => children.start(config(m))));
      assert.ok(c1 !== undefined && c2 !== undefined);

      // Watch the cursors: none may ever go backwards.
      let watching = true;
      const seen: number[] = new Array(shards).fill(0);
      const watch = (async () => {
        while (watching) {
          const now = await cursorsOf(h, cursors, names);
          for (const [i, c] of now.entries()) {
            assert.ok(
              c >= (seen[i] ?? 0),
              `cursor of ${names[i]} went back from ${seen[i]} to ${c}`,
            );
            seen[i] = c;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      const total = 20_000;
      const batch = 250;
      let inserted = 0;
      const insertSome = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i += batch) {
          await h.insert(events.name, batch);
          inserted += batch;
        }
      };
      const t0 = Date.now();
      const phases: string[] = [];
      const phase = (what: string): void => {
        phases.push(`${what} ${Date.now() - t0}ms`);
      };
      const holds = async (member: string): Promise<boolean> =>
        (await leases.holders(h.db, 'chaos')).holders.includes(member);
      try {
        await waitFor(
          'c1 and c2 hold shards',
          async () => (await holds('c1')) && (await holds('c2')),
          10_000,
        );
        await insertSome(4000);
        phase('kill c1');
        c1.kill('SIGKILL');
        await insertSome(4000);
        await children.start(config('c4'));
        await waitFor('c2 holds shards', () => holds('c2'), 10_000);
        phase('stop c2');
        c2.kill('SIGSTOP');
        const stoppedAt = Date.now();
        await insertSome(4000);
        // Past its lease: the others have taken its shards by now.
        await waitFor(
          'c2 paused past its lease',
          () => Date.now() - stoppedAt > 1.6 * leasePeriodMs,
          10_000,
        );
        phase('cont c2');
        c2.kill('SIGCONT');
        await insertSome(4000);
        await children.start(config('c5'));
        phase('c5');
        await insertSome(total - inserted);
        phase('inserted');
        const head = Number((await h.rows(`SELECT MAX(id) FROM ${h.quote(events.name)}`))[0]?.[0]);
        await waitFor(
          'every shard cursor at the head',
          async () => (await cursorsOf(h, cursors, names)).every((c) => c >= head),
          45_000,
        );
      } finally {
        watching = false;
        await watch;
      }
      phase('caught up');
      await children.stopAll();
      phase('stopped');

      const handled = new Map<string, { shard: number; member: string; token: number }[]>();
      let refused = 0;
      const acquisitions = new Map<string, number>();
      for (const m of ['c1', 'c2', 'c3', 'c4', 'c5']) {
        let text = '';
        try {
          text = readFileSync(join(dir, `${m}.log`), 'utf8');
        } catch {}
        for (const l of text.split('\n')) {
          const f = l.split(' ');
          if (f[0] === 'H') {
            const list = handled.get(f[1] ?? '') ?? [];
            list.push({ shard: Number(f[2]), member: f[3] ?? '', token: Number(f[4]) });
            handled.set(f[1] ?? '', list);
          } else if (f[0] === 'R') {
            refused++;
          } else if (f[0] === 'A') {
            acquisitions.set(m, (acquisitions.get(m) ?? 0) + 1);
          }
        }
      }
      const ids = (await h.rows(`SELECT id FROM ${h.quote(events.name)} ORDER BY id`)).map((r) =>
        String(r[0]),
      );
      assert.equal(ids.length, total);
      let duplicates = 0;
      for (const id of ids) {
        const list = handled.get(id);
        assert.ok(list !== undefined && list.length > 0, `event ${id} was handled`);
        const shard = fnv1Hash32(id) % shards;
        for (const x of list) assert.equal(x.shard, shard, `event ${id} handled by its shard`);
        // A duplicate only comes from a lease that changed hands: never twice under one lease.
        const leasesSeen = new Set(list.map((x) => `${x.member}/${x.token}`));
        assert.equal(leasesSeen.size, list.length, `event ${id} handled twice under one lease`);
        duplicates += list.length - 1;
      }
      t.diagnostic(
        `${h.dialect}: ${total} events, ${duplicates} handled again after a takeover (${((100 * duplicates) / total).toFixed(2)}%), ${refused} fenced writes refused, acquisitions ${JSON.stringify(Object.fromEntries(acquisitions))}; ${phases.join(', ')}`,
      );
      assert.ok(duplicates < total / 4, `duplicates bounded by the takeovers (${duplicates})`);
    });
  });
}
