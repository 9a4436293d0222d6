// Keeps the benchmark harness working: `bench --quick` on a tiny size writes the JSON and
// Markdown tables with a row per measure and backend. No figure is asserted (no timing checks).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

interface SmokeRow {
  section: string;
  backend: string;
  measure: string;
  status: string;
  value?: { value: number; unit: string };
  baseline?: { value: number; unit: string };
}

test('bench --quick writes latest.json and latest.md with every expected row', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'reflex-bench-smoke-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const main = fileURLToPath(new URL('../../bench/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      main,
      '--quick',
      '--events=2000',
      '--insert-ms=100',
      '--latency-count=5',
      '--fanout-ms=200',
      '--recovery-restarts=1',
      '--recovery-down-ms=2500',
      `--out=${out}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, output);

  const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
    date: string;
    machine: { cpus: number; memoryMB: number };
    versions: Record<string, string>;
    rows: SmokeRow[];
  };
  assert.ok(report.machine.cpus > 0);
  assert.ok(report.machine.memoryMB > 0);
  assert.equal(report.versions.node, process.version);
  assert.ok(!Number.isNaN(Date.parse(report.date)));

  const rows = report.rows;
  const has = (backend: string, section: string): SmokeRow[] =>
    rows.filter((r) => r.backend === backend && r.section === section);
  for (const backend of ['sqlite', 'mysql', 'postgres']) {
    const all = rows.filter((r) => r.backend === backend);
    assert.ok(all.length > 0, `no row for ${backend}`);
    if (all.some((r) => r.section === 'all')) continue; // server unreachable: one skipped row
    for (const section of ['insert', 'catch-up', 'latency', 'fan-out']) {
      assert.ok(has(backend, section).length > 0, `no ${section} row for ${backend}`);
    }
    for (const r of has(backend, 'insert')) {
      assert.ok(r.baseline !== undefined && r.baseline.value > 0, `${backend} insert baseline`);
    }
    const catchUp = has(backend, 'catch-up').find((r) => r.measure.includes('through run'));
    assert.ok(catchUp?.baseline !== undefined && catchUp.baseline.value > 0, 'raw scan baseline');
    if (catchUp.status === 'measured') {
      assert.ok((catchUp.value?.value ?? 0) > 0);
      assert.ok(has(backend, 'latency').every((r) => r.status === 'measured'));
    }
  }
  const memoryCatchUp = has('memory', 'catch-up').find((r) => r.measure.includes('through run'));
  assert.equal(memoryCatchUp?.status, 'measured');
  assert.ok((memoryCatchUp?.value?.value ?? 0) > 0);
  const memoryLatency = has('memory', 'latency');
  assert.equal(memoryLatency.length, 2);
  assert.ok(memoryLatency.every((r) => r.status === 'measured'));
  assert.ok(rows.some((r) => r.section === 'peer' && r.backend === 'nats'));
  // Recovery: a private MariaDB and PostgreSQL (skipped without their binaries) and a gRPC server.
  for (const backend of ['mysql', 'postgres', 'grpc']) {
    const recovery = has(backend, 'recovery');
    assert.ok(recovery.length > 0, `no recovery row for ${backend}`);
    const first = recovery[0];
    if (first?.status === 'measured') assert.ok((first.value?.value ?? -1) >= 0);
  }
  const takeover = has('sqlite', 'leases');
  assert.equal(takeover.length, 2, 'lease takeover p50 and p99 on SQLite');
  assert.ok(takeover.every((r) => r.status === 'measured' && (r.value?.value ?? 0) > 0));
  assert.ok(rows.some((r) => r.section === 'peer' && r.backend === 'nats-bridge'));
  for (const r of rows) {
    assert.ok(['measured', 'absent', 'skipped', 'error'].includes(r.status), JSON.stringify(r));
    assert.notEqual(r.status, 'error', `error row: ${JSON.stringify(r)}`);
  }

  const md = readFileSync(join(out, 'latest.md'), 'utf8');
  assert.match(md, /^# reflex-events benchmark results/);
  assert.match(md, /\| section \| backend \| measure \| reflex-events \| baseline \| ratio \|/);
  assert.equal(md.split('\n').filter((l) => l.startsWith('| ')).length, rows.length + 1);
});
