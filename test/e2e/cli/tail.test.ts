import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bearerTokenAuth, type ReflexServer, serveStreams } from '../../../src/grpc/index.js';
import { type MemoryEventLog, newMemoryEventLog } from '../../../src/testing/index.js';
import { jsonLines, reflex } from '../../support/cli.js';
import { assertStillPending, thirtyDaysMs } from '../../support/still-pending.js';
import { waitFor } from '../../support/wait.js';

describe('reflex tail over gRPC', () => {
  let log: MemoryEventLog;
  let server: ReflexServer;
  let secured: ReflexServer;
  const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-tail-'));

  before(async () => {
    log = newMemoryEventLog();
    for (let i = 1; i <= 6; i++) {
      log.insert(`user-${i}`, (i % 3) + 1, i === 2 ? { metadata: Buffer.from('{"a":1}') } : {});
    }
    server = await serveStreams(
      { 'reflexpb.Reflex/Stream': log.stream, 'example.Users/StreamEvents': log.stream },
      { address: '127.0.0.1:0' },
    );
    secured = await serveStreams(
      { 'reflexpb.Reflex/Stream': log.stream },
      { address: '127.0.0.1:0', authenticate: bearerTokenAuth(['s3cret']) },
    );
  });
  after(async () => {
    await server.stop();
    await secured.stop();
    log.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--to-head prints every event as JSON lines when piped, then exits 0', async () => {
    const r = await reflex(['tail', server.address, '--to-head']);
    assert.equal(r.code, 0, r.stderr);
    const rows = jsonLines(r.stdout);
    assert.deepEqual(
      rows.map((x) => x.id),
      ['1', '2', '3', '4', '5', '6'],
    );
    assert.equal(rows[1]?.foreignId, 'user-2');
    assert.equal(rows[1]?.type, 3);
    assert.equal(rows[1]?.metadata, Buffer.from('{"a":1}').toString('base64'));
    assert.equal(rows[0]?.timestamp, log.events[0]?.timestamp.toISOString());
  });

  it('--after, --types, --limit and another method', async () => {
    let r = await reflex([
      'tail',
      `grpc://${server.address}`,
      '--to-head',
      '--after',
      '3',
      '--types',
      '1,2',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // Types of 1..6: 2, 3, 1, 2, 3, 1.
    assert.deepEqual(
      jsonLines(r.stdout).map((x) => [x.id, x.type]),
      [
        ['4', 2],
        ['6', 1],
      ],
    );
    r = await reflex([
      'tail',
      server.address,
      '--limit',
      '2',
      '--method',
      'example.Users/StreamEvents',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      jsonLines(r.stdout).map((x) => x.id),
      ['1', '2'],
    );
  });

  it('--lag is passed to the source', async () => {
    const r = await reflex(['tail', server.address, '--lag', '1ms', '--limit', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonLines(r.stdout)[0]?.id, '1');
  });

  it('--lag 30d (beyond a Node timer) holds the events, over the gRPC lag field too', async () => {
    let opened = 0;
    const lagged = await serveStreams(
      {
        'reflexpb.Reflex/Stream': async (after, options) => {
          const client = await log.stream(after, options);
          if ((options?.lag ?? 0) >= thirtyDaysMs) opened++;
          return client;
        },
      },
      { address: '127.0.0.1:0' },
    );
    try {
      let child: import('node:child_process').ChildProcess | undefined;
      const running = reflex(['tail', lagged.address, '--lag', '30d', '--limit', '1'], {
        onSpawn: (c) => {
          child = c;
        },
      });
      await waitFor('the lagged stream to open', () => opened === 1);
      // A 30-day wait that overflowed would deliver within a few ms.
      await assertStillPending(running, 'reflex tail --lag 30d', 300);
      child?.kill('SIGINT');
      const r = await running;
      assert.equal(r.stdout, '');
    } finally {
      await lagged.stop();
    }
  });

  it('--from-head waits for new events only', async () => {
    // Insert until the tail (once connected) prints one: from-head skips 1..6.
    const timer = setInterval(() => log.insert('late', 9), 100);
    const running = reflex(['tail', server.address, '--from-head', '--limit', '1'], {
      timeoutMs: 20_000,
    }).finally(() => clearInterval(timer));
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    const rows = jsonLines(r.stdout);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.foreignId, 'late');
    assert.ok(Number(rows[0]?.id) > 6);
  });

  it('a token: refused without it (exit 1, one line), accepted from --token-file', async () => {
    let r = await reflex(['tail', secured.address, '--to-head']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^reflex tail: streaming from 127\.0\.0\.1:\d+: .*/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 's3cret\n');
    r = await reflex([
      'tail',
      secured.address,
      '--to-head',
      '--limit',
      '1',
      '--token-file',
      tokenFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonLines(r.stdout).length, 1);
  });

  it('an unreachable server → exit code 1, one line', async () => {
    const r = await reflex(['tail', '127.0.0.1:1', '--to-head']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^reflex tail: streaming from 127\.0\.0\.1:1: /);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  });

  it('bad flags → exit code 2', async () => {
    const cases = [
      ['tail', server.address, '--types', 'a,b'],
      ['tail', server.address, '--from-head', '--after', '3'],
      ['tail', server.address, '--lag', 'x'],
      ['tail', 'sqlite:x.db'],
    ];
    await Promise.all(
      cases.map(async (args) => {
        const r = await reflex(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      }),
    );
  });
});
