/** Delivery to a real HTTP target that goes down, comes back, refuses, and rejects credentials. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createOutbox, PRIMARY_TARGET } from '../../src/outbox/queue.js';
import { buildDeliveryBody, createDeliveryWorker } from '../../src/outbox/worker.js';
import { openDatabase } from '../../src/store/db.js';
import { generateSigningSecret, signingKey, verifyWebhook } from '../../src/signing/standard-webhooks.js';
import { eventually, memoryLogger, startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { ASTERISK } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { queryAll } from '../helpers/db.js';
import { sendFax } from '../helpers/fax.js';
import { startHttpSink } from '../helpers/http-sink.js';

async function freePort(): Promise<number> {
  const t = await startHttpSink();
  await t.close();
  return t.port;
}

async function fax(d: TestDaemon, uniqueid: string): Promise<void> {
  assert.ok((await sendFax(d.agiPort, d.spoolDir, uniqueid, { tiff: 'success-1p-name.tiff' })).acked);
}

function outboxRows(d: TestDaemon) {
  return queryAll<{ id: number; state: string; attempts: number; last_status: number | null; last_response: string | null }>(
    d.dataDir,
    'SELECT id, state, attempts, last_status, last_response FROM outbox ORDER BY id',
  );
}

const FAST = { retrySchedule: '0,100,200,200,200,200,200,200,200,200,200,200' };

describe('outbox delivery', () => {
  it('a target that is down for a while, then comes back, receives everything once, signed', async () => {
    const port = await freePort();
    const d = await startTestDaemon({ raw: { target: `http://127.0.0.1:${port}/_internal/asterisk/inbound`, ...FAST } });
    try {
      const ids = ['1795770000.1', '1795770000.2', '1795770000.3', '1795770000.4', '1795770000.5'];
      for (const id of ids) await fax(d, id);
      await eventually(() => outboxRows(d).every((r) => r.attempts >= 2), 'failed attempts while down');
      assert.ok(outboxRows(d).every((r) => r.state === 'pending'));
      assert.ok(d.lines.some((l) => l.msg === 'outbox.retry' && String(l['reason']).includes('ECONNREFUSED')));

      const target = await startHttpSink(undefined, port);
      try {
        await eventually(() => outboxRows(d).every((r) => r.state === 'delivered'), 'all delivered', 8000);
        const ok = target.received;
        assert.equal(new Set(ok.map((r) => r.headers['webhook-id'])).size, 5, 'each fax once');
        assert.equal(ok.length, 5);
        const secret = (await readFile(path.join(d.dataDir, 'secrets', 'webhook-secret'), 'utf8')).trim();
        const internal = (await readFile(path.join(d.dataDir, 'secrets', 'internal-secret'), 'utf8')).trim();
        for (const r of ok) {
          const verdict = verifyWebhook(
            { id: String(r.headers['webhook-id']), timestamp: String(r.headers['webhook-timestamp']), signature: String(r.headers['webhook-signature']) },
            r.body,
            [signingKey(secret)],
            Math.floor(Date.now() / 1000),
          );
          assert.deepEqual(verdict, { ok: true });
          assert.equal(r.headers['x-internal-secret'], internal);
          const body = JSON.parse(r.body);
          assert.ok(ids.includes(body.uniqueid));
          // The bytes travel from the copy pinned at the ack: the spool may be cleaned meanwhile.
          assert.ok(Buffer.from(body.tiff_base64, 'base64').equals(await readFile(path.join(ASTERISK, 'tiffs', 'success-1p-name.tiff'))));
          assert.equal(typeof body.faxpages, 'number');
        }
        assert.ok(!d.raw.some((line) => line.includes(secret) || line.includes(internal)), 'no secret in any log line');
      } finally {
        await target.close();
      }
    } finally {
      await d.stop();
    }
  });

  it('a permanent 4xx is dead-lettered at once with its response, and `outbox retry` replays it', async () => {
    const target = await startHttpSink(() => [422, '{"detail":"bad field"}']);
    const d = await startTestDaemon({ raw: { target: `http://127.0.0.1:${target.port}/_internal/asterisk/inbound`, ...FAST } });
    try {
      await fax(d, '1795770001.1');
      const [row] = await eventually(() => {
        const rows = outboxRows(d);
        return rows[0]?.state === 'dead' ? rows : undefined;
      }, 'dead letter');
      assert.equal(row!.attempts, 1);
      assert.equal(row!.last_status, 422);
      assert.equal(row!.last_response, '{"detail":"bad field"}');

      const listed = await runCli(['outbox', 'list', '--state', 'dead', '--json', '--data-dir', d.dataDir]);
      assert.equal(listed.code, 0);
      assert.equal(JSON.parse(listed.stdout.trim()).last_status, 422);

      target.state.answer = () => [200, '{"id":"x","status":"ok"}'];
      const retried = await runCli(['outbox', 'retry', '--dead', '--data-dir', d.dataDir]);
      assert.equal(retried.code, 0, retried.stderr);
      assert.match(retried.stdout, /1 row\(s\) queued/);
      await eventually(() => outboxRows(d)[0]?.state === 'delivered', 'replayed delivery', 6000);
      assert.equal(target.received.length, 2);
      assert.equal(target.received[0]!.headers['webhook-id'], target.received[1]!.headers['webhook-id'], 'same id on replay');
    } finally {
      await d.stop();
      await target.close();
    }
  });

  it('401 is a configuration error: logged loudly and retried, not dead-lettered', async () => {
    const target = await startHttpSink(() => [401, '{"detail":"Invalid internal secret"}']);
    const d = await startTestDaemon({ raw: { target: `http://127.0.0.1:${target.port}/`, ...FAST } });
    try {
      await fax(d, '1795770002.1');
      await eventually(() => target.received.length >= 3, 'three attempts');
      assert.equal(outboxRows(d)[0]!.state, 'pending');
      const line = d.lines.find((l) => l.msg === 'outbox.target_config_error');
      assert.ok(line && line.level === 'error');
      assert.equal(target.received[0]!.headers['host'], `127.0.0.1:${target.port}`);
    } finally {
      await d.stop();
      await target.close();
    }
  });

  it('a delivery that hangs does not make the worker re-poll the table while it waits', async () => {
    const hung = http.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const dataDir = await tempDir();
    const db = openDatabase(dataDir);
    const outbox = createOutbox(db);
    let polls = 0;
    const counted = { ...outbox, due: (now: number, limit: number) => (polls++, outbox.due(now, limit)) };
    const worker = createDeliveryWorker({
      outbox: counted,
      credentials: { internalSecret: () => undefined, signingKeys: () => [signingKey(generateSigningSecret())] },
      logger: memoryLogger().logger,
      spoolDir: dataDir,
      pinDir: dataDir,
      schedule: [0, 60_000],
      pollMs: 200,
      resolveTarget: () => `http://127.0.0.1:${(hung.address() as AddressInfo).port}/x`,
    });
    try {
      outbox.enqueue({ eventKey: 'asterisk:1.1', target: PRIMARY_TARGET, webhookId: 'fax_x', body: '{}', tiffPath: null, tiffSha256: null }, Date.now());
      worker.start();
      await new Promise((r) => setTimeout(r, 1000));
      // Waiting on the attempt, the worker looks at the table once per pollMs (about 5 times),
      // not on every timer tick (hundreds).
      assert.ok(polls < 20, `${polls} polls of the outbox while one attempt hung for 1 s`);
    } finally {
      hung.closeAllConnections();
      await worker.stop(0);
      hung.close();
      db.close();
    }
  });

  it('a database that cannot record outcomes (a full disk) makes no hot loop: the row waits longer each time, and the error is logged once per minute', async () => {
    const target = await startHttpSink(() => [200, '{"id":"x","status":"ok"}']);
    const dataDir = await tempDir();
    const db = openDatabase(dataDir);
    const outbox = createOutbox(db);
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const broken = { ...outbox, markDelivered: () => { throw full; }, markRetry: () => { throw full; }, markDead: () => { throw full; } };
    const { logger, lines } = memoryLogger();
    const worker = createDeliveryWorker({
      outbox: broken,
      credentials: { internalSecret: () => undefined, signingKeys: () => [signingKey(generateSigningSecret())] },
      logger,
      spoolDir: dataDir,
      pinDir: dataDir,
      schedule: [0, 60_000],
      pollMs: 200,
      resolveTarget: () => `${target.url}/x`,
    });
    try {
      outbox.enqueue({ eventKey: 'k', target: `${target.url}/x`, webhookId: 'evt_x', body: '{}', tiffPath: null, tiffSha256: null }, Date.now());
      worker.start();
      await new Promise((r) => setTimeout(r, 2000));
      // Held 1 s, then 2 s: two or three attempts in 2 s, where the old loop made hundreds.
      assert.ok(target.received.length <= 4, `${target.received.length} attempts in 2 s`);
      assert.equal(lines.filter((l) => l.msg === 'outbox.worker_error').length, 1, 'logged once, not per attempt');
      assert.equal(outbox.get(1)!.state, 'pending', 'nothing lost: still pending');
    } finally {
      await worker.stop(0);
      await target.close();
      db.close();
    }
  });

  it('after the last step of the schedule the row is dead', async () => {
    const target = await startHttpSink(() => [503, 'busy']);
    const d = await startTestDaemon({ raw: { target: `http://127.0.0.1:${target.port}/x`, retrySchedule: '0,50,50' } });
    try {
      await fax(d, '1795770003.1');
      await eventually(() => outboxRows(d)[0]?.state === 'dead', 'dead after 3 attempts');
      assert.equal(outboxRows(d)[0]!.attempts, 3);
    } finally {
      await d.stop();
      await target.close();
    }
  });
});

describe('delivery body for the primary target', () => {
  it('carries tiff_base64 and tiff_sha256 from the pinned copy, checked against the digest taken at ack time', async () => {
    const pinDir = await tempDir();
    const spoolDir = await tempDir();
    const tiff = path.join(pinDir, 'fax_x.tiff');
    await copyFile(path.join(ASTERISK, 'tiffs', 'success-1p-name.tiff'), tiff);
    const bytes = await readFile(tiff);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const row = { target: PRIMARY_TARGET, webhook_id: 'fax_x', body: '{"uniqueid":"1.2","tiff_path":"x"}', tiff_path: tiff, tiff_sha256: sha };
    const body = JSON.parse(await buildDeliveryBody(row, { spoolDir, pinDir }));
    assert.equal(body.tiff_sha256, sha);
    assert.ok(Buffer.from(body.tiff_base64, 'base64').equals(bytes));
    assert.equal(await buildDeliveryBody({ ...row, tiff_path: null }, { spoolDir, pinDir }), row.body, 'a failed fax without a document goes as it is');

    const copies = await tempDir();
    const faxbot = JSON.parse(await buildDeliveryBody(row, { spoolDir, pinDir, faxbotCopyDir: copies }));
    assert.equal(faxbot.tiff_path, path.join(copies, 'fax_x.pdf'));
    assert.equal(faxbot.tiff_base64, undefined);
    assert.match((await readFile(faxbot.tiff_path)).subarray(0, 8).toString('latin1'), /^%PDF-/);
    await assert.rejects(buildDeliveryBody({ ...row, tiff_path: null }, { spoolDir, pinDir, faxbotCopyDir: copies }), /without a document/);

    await writeFile(tiff, 'changed');
    await assert.rejects(buildDeliveryBody(row, { spoolDir, pinDir }), /changed since it was received/);
  });
});
