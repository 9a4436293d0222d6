import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import { newConsumer, newSpec, run, type StreamFunc } from '../../src/core/index.js';
import { newReflexClient, type ReflexClient } from '../../src/grpc/index.js';
import { newCursorsTable, newErrorsTable, newEventsTable } from '../../src/rsql/index.js';
import { cliPath } from '../support/cli.js';

// A real browser against `reflex serve` while events are written: Debian's chromium, driven by
// playwright-core (which downloads nothing). .ci/run installs chromium; elsewhere the test is
// skipped with a reason when it is absent.
const chromiumPath = process.env.REFLEX_TEST_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env.CI) {
  throw new Error(`${chromiumPath} is missing: .ci/run installs the chromium package`);
}
const skip = haveChromium
  ? false
  : `${chromiumPath} not found (apt-get install chromium, or set REFLEX_TEST_CHROMIUM)`;

/** The page's globals, as the functions evaluated in the browser see them. */
interface PageGlobals {
  readonly document: {
    querySelector(selector: string): { readonly textContent: string | null } | null;
    querySelectorAll(selector: string): { readonly length: number };
  };
  /** How many snapshots the page rendered. */
  readonly __updates: number;
}

/** Where the screenshot is kept for the test's reader (and CI's artifacts). */
const artifacts = join(process.cwd(), 'test-artifacts');
const token = 'page-test-token';

describe('status page in a real browser', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-status-page-'));
  const file = join(dir, 'app.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  const events = newEventsTable('user_events', { pollIntervalMs: 20 });
  const cursors = newCursorsTable('cursors');
  const errors = newErrorsTable({ recordOnly: true });
  const consumers = new AbortController();
  const runs: Promise<unknown>[] = [];
  let writer: ReturnType<typeof setInterval> | undefined;
  let written = 0;
  let serve: ChildProcess | undefined;
  let serveExit: Promise<number | null> | undefined;
  let statusUrl = '';
  let grpcAddress = '';
  let grpcClient: ReflexClient | undefined;

  const write = (n: number): void => {
    for (let i = 0; i < n; i++) {
      written++;
      events.insertSync(db, `user-${written % 50}`, 1 + (written % 3))();
    }
  };
  const startConsumer = (name: string, stream: StreamFunc = events.toStream(db)): void => {
    const store = cursors.toStore(db, { asyncPeriodMs: 100 });
    runs.push(
      run(
        newSpec(
          stream,
          store,
          newConsumer(name, () => {}),
        ),
        {
          signal: consumers.signal,
        },
      ).catch(() => store.close()),
    );
  };

  before(async () => {
    await events.createTable(db);
    await cursors.createTable(db);
    await errors.createTable(db);
    write(300);
    // Consumers: audit keeps up, reports starts far behind and catches up later, search-indexer
    // is stuck, billing recorded an error, and the name of one holds a terminal escape.
    startConsumer('audit');
    await cursors.setCursor(db, 'reports', '10');
    await cursors.setCursor(db, 'search-indexer', '120');
    await cursors.setCursor(db, 'billing', '250');
    await cursors.setCursor(db, 'evil\u001b[31m', '300');
    await errors.toErrorInsertFunc(db)('billing', '251', 'card processor said 502 Bad Gateway');
    writer = setInterval(() => write(3), 30);

    serve = spawn(
      process.execPath,
      [
        cliPath,
        'serve',
        `sqlite:${file}`,
        '--table',
        'user_events',
        '--address',
        '127.0.0.1:0',
        '--metrics-address',
        '127.0.0.1:0',
        '--token',
        token,
        '--stalled-after',
        '1s',
        '--status-interval',
        '200ms',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const child = serve;
    serveExit = new Promise((resolve) => child.once('exit', resolve));
    let out = '';
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    statusUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`serve did not start:\n${out}\n${err}`)),
        20_000,
      );
      void serveExit?.then((code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code}):\n${out}\n${err}`));
      });
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const url = /^status (\S+)$/m.exec(out)?.[1];
        if (url !== undefined) {
          grpcAddress = /^grpc (\S+)$/m.exec(out)?.[1] ?? '';
          clearTimeout(timer);
          resolve(url);
        }
      });
    });
  });

  after(async () => {
    clearInterval(writer);
    consumers.abort();
    await Promise.allSettled(runs);
    await grpcClient?.close();
    serve?.kill('SIGTERM');
    await serveExit;
    await events.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses requests without the token, and serves the JSON with it', async () => {
    const refused = await fetch(statusUrl);
    assert.equal(refused.status, 401);
    assert.equal((await fetch(`${statusUrl}.json`)).status, 401);
    const res = await fetch(`${statusUrl}.json`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { consumers: { name: string }[] };
    assert.ok(body.consumers.some((c) => c.name === 'search-indexer'));
    const page = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    const html = await page.text();
    // Light: one small self-contained document.
    assert.ok(html.length < 16_000, `page is ${html.length} bytes`);
    assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)=/);
  });

  it('shows the consumers live: lag falls as one catches up, a stuck one is stalled, an error is shown', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'reflex-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 640 },
      timeout: 30_000,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      const origin = new URL(statusUrl).origin;
      const foreign: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(origin)) foreign.push(r.url());
      });
      // The token once in the address: it is moved into a cookie and out of the address bar.
      await page.goto(`${statusUrl}?token=${token}`);
      assert.equal(page.url(), statusUrl);
      await page.waitForSelector('#conn.live');
      for (const name of ['audit', 'reports', 'search-indexer', 'billing']) {
        await page.waitForSelector(`tr[data-consumer="${name}"]`);
      }
      await page.waitForSelector('tr[data-consumer="search-indexer"][data-state="stalled"]');
      const stalled = await page.textContent('tr[data-consumer="search-indexer"] .st');
      assert.match(stalled ?? '', /^stalled since \d\d:\d\d:\d\d \(/);
      await page.waitForSelector('tr[data-consumer="billing"][data-state="erroring"]');
      assert.match(
        (await page.textContent('tr[data-consumer="billing"] td.msg')) ?? '',
        /card processor said 502 Bad Gateway \(event 251/,
      );
      // The escape sequence in a name is shown, not interpreted.
      const evil = await page.textContent('tr[data-consumer="evil\u001b[31m"] td:nth-child(2)');
      assert.equal(evil, 'evil\\u001b[31m');

      const lagOf = async (name: string): Promise<number> =>
        Number(await page.textContent(`tr[data-consumer="${name}"] .lag-events`));
      const before = await lagOf('reports');
      assert.ok(before > 280, `reports lags ${before} events`);
      // The writer keeps going: the lag shown grows with the head.
      // Functions evaluated in the browser travel as source, without their closure.
      const reportsLagAbove = ([min, max]: readonly [number, number]): boolean => {
        const lag = Number(
          (globalThis as unknown as PageGlobals).document.querySelector(
            'tr[data-consumer="reports"] .lag-events',
          )?.textContent,
        );
        return lag > min && lag < max;
      };
      await page.waitForFunction(reportsLagAbove, [before, Number.POSITIVE_INFINITY] as const);
      // reports starts consuming over gRPC: the page shows its lag fall, and the call.
      grpcClient = newReflexClient(grpcAddress, { token });
      startConsumer('reports', grpcClient.stream);
      await page.waitForFunction(reportsLagAbove, [-1, 50] as const);
      assert.notEqual(
        await page.getAttribute('tr[data-consumer="reports"]', 'data-state'),
        'stalled',
      );
      await page.waitForSelector('#clients tbody tr');
      assert.match((await page.textContent('#grpc')) ?? '', /127\.0\.0\.1:\d+: 1 open streams/);
      assert.equal(
        await page.textContent('#clients tbody td:nth-child(2)'),
        '/reflexpb.Reflex/Stream',
      );

      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });
      if (process.env.REFLEX_UPDATE_DOCS_SCREENSHOT === '1') {
        copyFileSync(join(artifacts, 'status-page.png'), join('docs', 'status-page.png'));
      }

      // 100 more consumers: every one gets its row, each row is updated in place.
      const insert = db.prepare(
        'INSERT INTO cursors (id, last_event_id, updated_at) VALUES (?, ?, ?)',
      );
      db.transaction(() => {
        for (let i = 0; i < 100; i++)
          insert.run(`bulk-${String(i).padStart(3, '0')}`, i * 3, Date.now());
      })();
      await page.waitForFunction(
        () =>
          (globalThis as unknown as PageGlobals).document.querySelectorAll('#consumers tbody tr')
            .length === 105,
      );
      const firstRow = await page.$('tr[data-consumer="bulk-000"]');
      const shown = await page.evaluate(() => (globalThis as unknown as PageGlobals).__updates);
      await page.waitForFunction(
        (n) => (globalThis as unknown as PageGlobals).__updates > n,
        shown,
      );
      assert.ok(
        await page.evaluate((row) => row?.isConnected === true, firstRow),
        'rows are kept and updated, not re-created',
      );
      assert.equal(await page.$$eval('#consumers tbody tr', (rows) => rows.length), 105);
      assert.deepEqual(foreign, [], 'the page fetches nothing from elsewhere');
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
