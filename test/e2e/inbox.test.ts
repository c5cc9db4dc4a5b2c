/** The inbox as a user meets it: the API, the CLI, forwarding, and a Faxbot as the target. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { signingKey, verifyWebhook } from '../../src/signing/standard-webhooks.js';
import { runCli } from '../helpers/cli.js';
import { eventually, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { sendFax } from '../helpers/fax.js';
import { ASTERISK, loadHttpFixture, PROVIDERS, PROVIDER_SECRETS } from '../helpers/fixtures.js';
import { sendFixture, startFixtureDaemon } from '../helpers/fixture-daemon.js';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.js';

const API = { authorization: 'Bearer test-api-key' };

async function getJson(url: string, headers: Record<string, string> = API) {
  const res = await request(url, { headers });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('inbox API, CLI and forwarding', () => {
  let d: TestDaemon;
  let sink: HttpSink;
  let asteriskId: string;
  let sinchId: string;
  const sinch = loadHttpFixture('sinch-incoming-fax-multipart');
  const callback = loadHttpFixture('seed-phaxio-callback-valid');

  before(async () => {
    sink = await startHttpSink();
    d = await startFixtureDaemon(
      { config: [...sinch.config, ...callback.config, 'FAXBRIDGE_WEBHOOK_SECRET'], clock_unix: null, setup: null },
      { raw: { forwardUrl: `${sink.url}/hooks/fax` } },
    );
    assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795820000.1', { tiff: 'success-3p.tiff' })).acked);
    sinchId = String((await sendFixture(d, sinch)).json['id']);
    assert.equal((await sendFixture(d, callback)).status, 200);
    const list = await eventually(async () => {
      const r = await getJson(`${d.httpUrl}/inbound`);
      return (r.json['items'] as unknown[]).length === 2 ? r : undefined;
    }, 'two faxes in the inbox');
    asteriskId = String((list.json['items'] as Array<Record<string, unknown>>).find((i) => i['source'] === 'asterisk')!['id']);
  });
  after(async () => {
    await d.stop();
    await sink.close();
  });

  it('needs the API key, by bearer or X-API-Key, and nothing else', async () => {
    assert.equal((await getJson(`${d.httpUrl}/inbound`, {})).status, 401);
    assert.equal((await getJson(`${d.httpUrl}/inbound`, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await getJson(`${d.httpUrl}/inbound/${asteriskId}/pdf`, { 'x-api-key': 'nope' })).status, 401);
    assert.equal((await getJson(`${d.httpUrl}/inbound`, { 'x-api-key': 'test-api-key' })).status, 200);
  });

  it('lists with filters and pages', async () => {
    const to = await getJson(`${d.httpUrl}/inbound?to=${encodeURIComponent('+15559870000')}`);
    assert.deepEqual((to.json['items'] as Array<Record<string, unknown>>).map((i) => i['source']), ['sinch']);
    const failed = await getJson(`${d.httpUrl}/inbound?status=failed`);
    assert.equal((failed.json['items'] as unknown[]).length, 0);
    const future = await getJson(`${d.httpUrl}/inbound?since=2099-01-01T00:00:00Z`);
    assert.equal((future.json['items'] as unknown[]).length, 0);
    const page1 = await getJson(`${d.httpUrl}/inbound?limit=1`);
    assert.equal((page1.json['items'] as unknown[]).length, 1);
    assert.ok(page1.json['next_cursor']);
    const page2 = await getJson(`${d.httpUrl}/inbound?limit=1&cursor=${encodeURIComponent(String(page1.json['next_cursor']))}`);
    const ids = [...(page1.json['items'] as Array<{ id: string }>), ...(page2.json['items'] as Array<{ id: string }>)].map((i) => i.id);
    assert.deepEqual(new Set(ids), new Set([asteriskId, sinchId]));
    assert.equal((await getJson(`${d.httpUrl}/inbound?limit=0`)).status, 400);
    assert.equal((await getJson(`${d.httpUrl}/inbound?since=yesterday`)).status, 400);
  });

  it('serves one record, its TIFF as received, and a PDF', async () => {
    const one = await getJson(`${d.httpUrl}/inbound/${asteriskId}`);
    assert.equal(one.json['provider_id'], '1795820000.1');
    assert.equal((one.json['document'] as { type: string }).type, 'tiff');
    const tiff = await request(`${d.httpUrl}/inbound/${asteriskId}/tiff`, { headers: API });
    assert.equal(tiff.headers['content-type'], 'image/tiff');
    assert.ok(Buffer.from(await tiff.body.arrayBuffer()).equals(readFileSync(path.join(ASTERISK, 'tiffs', 'success-3p.tiff'))));
    const pdf = await request(`${d.httpUrl}/inbound/${asteriskId}/pdf`, { headers: API });
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    const pdfBytes = Buffer.from(await pdf.body.arrayBuffer());
    assert.equal(pdfBytes.subarray(0, 5).toString(), '%PDF-');
    const sinchPdf = await request(`${d.httpUrl}/inbound/${sinchId}/pdf`, { headers: API });
    assert.ok(Buffer.from(await sinchPdf.body.arrayBuffer()).equals(readFileSync(path.join(PROVIDERS, 'docs', 'one-page.pdf'))));
    assert.equal((await getJson(`${d.httpUrl}/inbound/${sinchId}/tiff`)).status, 404);
    assert.equal((await getJson(`${d.httpUrl}/inbound/ffffffffffffffffffffffffffffffff`)).status, 404);
  });

  it('`faxbridge inbox show` and `export --pdf` work on the same data', async () => {
    const show = await runCli(['inbox', 'show', asteriskId, '--data-dir', d.dataDir]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).pages, 3);
    const out = path.join(await tempDir(), 'fax.pdf');
    const exp = await runCli(['inbox', 'export', asteriskId, '--pdf', out, '--data-dir', d.dataDir]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.match(execFileSync('pdfinfo', [out], { encoding: 'utf8' }), /Pages:\s+3/);
    const missing = await runCli(['inbox', 'show', 'nope', '--data-dir', d.dataDir]);
    assert.equal(missing.code, 1);
    const noFile = await runCli(['inbox', 'export', asteriskId, '--data-dir', d.dataDir]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /--pdf FILE or --tiff FILE/);
  });

  it('forwards every inbox event once, as a versioned, signed JSON event', async () => {
    const events = await eventually(() => (sink.received.length >= 3 ? sink.received : undefined), 'three forwarded events');
    const types = events.map((h) => JSON.parse(h.body).type).sort();
    assert.deepEqual(types, ['fax.received', 'fax.received', 'fax.status']);
    const key = signingKey(PROVIDER_SECRETS['FAXBRIDGE_WEBHOOK_SECRET']!);
    for (const h of events) {
      const body = JSON.parse(h.body);
      assert.equal(body.version, 1);
      assert.match(String(h.headers['webhook-id']), /^evt_[0-9a-f]{32}$/);
      assert.equal(body.id, h.headers['webhook-id']);
      assert.equal(h.headers['x-internal-secret'], undefined, 'the internal secret goes only to the delivery target');
      const verdict = verifyWebhook(
        { id: String(h.headers['webhook-id']), timestamp: String(h.headers['webhook-timestamp']), signature: String(h.headers['webhook-signature']) },
        h.body,
        [key],
        Math.floor(Date.now() / 1000),
      );
      assert.deepEqual(verdict, { ok: true });
    }
    const status = events.map((h) => JSON.parse(h.body)).find((b) => b.type === 'fax.status');
    assert.equal(status.data.job_id, 'job_123');
    assert.equal(status.data.status, 'success');
    await sendFixture(d, sinch); // a provider retry
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.received.length, 3, 'a replayed webhook forwards nothing new');
  });
});

describe('a real Faxbot as the target (--target-kind faxbot)', () => {
  it('gets a path to a PDF copy of its own, never the spool TIFF', async () => {
    const faxbot = await startHttpSink((hit) => {
      const body = JSON.parse(hit.body);
      const ok = typeof body.tiff_path === 'string' && !body.tiff_path.includes('test') && readFileSync(body.tiff_path).subarray(0, 5).toString() === '%PDF-';
      return ok ? [200, '{"id":"0123456789abcdef0123456789abcdef","status":"ok"}'] : [400, '{"detail":"Invalid payload"}'];
    });
    const d = await startFixtureDaemon(
      { config: [], clock_unix: null, setup: null },
      { raw: { target: faxbot.url, targetKind: 'faxbot' }, env: { ASTERISK_INBOUND_SECRET: 'faxbot-secret' } },
    );
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795830000.1', { tiff: 'success-2p-exotic-name.tiff' })).acked);
      const hit = await eventually(() => faxbot.received[0], 'delivery to Faxbot');
      const body = JSON.parse(hit.body);
      assert.equal(hit.headers['x-internal-secret'], 'faxbot-secret');
      assert.equal(typeof body.faxpages, 'number');
      assert.equal(typeof body.to_number, 'string');
      assert.notEqual(body.tiff_path, path.join(d.spoolDir, '1795830000.1.tiff'));
      assert.match(execFileSync('pdfinfo', [body.tiff_path], { encoding: 'utf8' }), /Pages:\s+2/);
      const out = await runCli(['outbox', 'list', '--json', '--data-dir', d.dataDir]);
      await eventually(async () => (await runCli(['outbox', 'list', '--json', '--data-dir', d.dataDir])).stdout.includes('"response_id":"0123456789abcdef0123456789abcdef"'), 'Faxbot id recorded');
      assert.equal(out.code, 0);
      assert.ok((await readFile(path.join(d.spoolDir, '1795830000.1.tiff'))).length > 0, 'the spool TIFF is untouched');
    } finally {
      await d.stop();
      await faxbot.close();
    }
  });
});
