/** `/_internal/asterisk/inbound` on a real HTTP server, driven by the provider fixtures. */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/http/server.js';
import { createInbox, type Inbox } from '../src/inbox/store.js';
import { signingKey } from '../src/signing/standard-webhooks.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { memoryLogger, tempDir } from './helpers/daemon.js';
import { loadHttpFixture, PROVIDERS, PROVIDER_SECRETS, type HttpFixture } from './helpers/fixtures.js';

interface Receiver {
  url: string;
  db: Db;
  inbox: Inbox;
  spool: string;
  dataDir: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

async function startReceiver(fixture: HttpFixture, options: { bodyLimit?: number } = {}): Promise<Receiver> {
  const root = await tempDir();
  const spool = path.join(root, 'spool');
  const dataDir = path.join(root, 'data');
  await mkdir(path.join(spool, 'inbound'), { recursive: true });
  await mkdir(dataDir, { recursive: true });
  const db = openDatabase(dataDir);
  const inbox = createInbox(db, dataDir);
  const has = (k: string) => fixture.config.includes(k);
  const signing = ['FAXBRIDGE_WEBHOOK_SECRET', 'FAXBRIDGE_WEBHOOK_SECRET_PREVIOUS'].filter(has).map((k) => signingKey(PROVIDER_SECRETS[k]!));
  const app = buildServer({
    logger: memoryLogger().logger,
    inbox,
    spoolDir: spool,
    asteriskBodyLimit: options.bodyLimit,
    internal: () => ({
      secrets: has('ASTERISK_INBOUND_SECRET') ? [PROVIDER_SECRETS['ASTERISK_INBOUND_SECRET']!] : [],
      signingKeys: signing.length ? signing : [signingKey(PROVIDER_SECRETS['FAXBRIDGE_WEBHOOK_SECRET_PREVIOUS']!)],
      requireSignature: signing.length > 0,
    }),
    health: () => ({ ok: true }),
    nowSeconds: () => fixture.clock_unix ?? Math.floor(Date.now() / 1000),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  for (const f of fixture.setup?.spool_files ?? []) {
    await copyFile(path.join(PROVIDERS, 'http', f.source), f.path.replace('/var/spool/asterisk/fax', spool));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    db,
    inbox,
    spool,
    dataDir,
    app,
    async close() {
      await app.close();
      db.close();
    },
  };
}

async function send(r: Receiver, fixture: HttpFixture, change: { headers?: Record<string, string | undefined>; body?: Buffer } = {}) {
  // Unsigned bodies that name the spool get our temp spool instead (fixtures README); signed ones stay exact.
  const rewrite = fixture.setup?.spool_files?.length && !fixture.headers['webhook-signature'];
  const body =
    change.body ??
    (rewrite ? Buffer.from(fixture.body.toString('latin1').split('/var/spool/asterisk/fax/').join(`${r.spool}/`), 'latin1') : fixture.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...fixture.headers, ...change.headers })) {
    if (v !== undefined && k.toLowerCase() !== 'content-length' && k.toLowerCase() !== 'host') headers[k] = v;
  }
  const res = await request(`${r.url}${fixture.path}`, { method: 'POST', headers, body });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

function count(r: Receiver): number {
  return (r.db.prepare('SELECT COUNT(*) AS n FROM inbox').get() as { n: number }).n;
}

const ASTERISK_FIXTURES = [
  'asterisk-inbound-valid',
  'asterisk-inbound-wrong-secret',
  'asterisk-inbound-missing-secret',
  'asterisk-inbound-path-relative',
  'asterisk-inbound-path-prefix-escape',
  'asterisk-inbound-missing-fields',
  'asterisk-inbound-faxpages-abc',
  'asterisk-inbound-signed',
  'asterisk-inbound-signed-tampered',
  'asterisk-inbound-signed-stale',
  'asterisk-inbound-signed-rotation',
  'asterisk-inbound-signed-sha-mismatch',
];

describe('POST /_internal/asterisk/inbound, provider fixtures', () => {
  for (const name of ASTERISK_FIXTURES) {
    it(`${name}: ${loadHttpFixture(name).expect.status}`, async () => {
      const fixture = loadHttpFixture(name);
      const r = await startReceiver(fixture);
      try {
        const first = await send(r, fixture);
        assert.equal(first.status, fixture.expect.status, JSON.stringify(first.json));
        if (!fixture.expect.stored) {
          assert.equal(count(r), 0, 'nothing stored');
          assert.equal(typeof first.json['detail'], 'string', 'a clear message');
          const docs = await readdir(path.join(r.dataDir, 'documents')).catch(() => []);
          assert.equal(docs.length, 0, 'no document written');
          return;
        }
        assert.equal(first.json['status'], 'ok');
        assert.match(String(first.json['id']), /^[0-9a-f]{32}$/);
        const rec = fixture.expect.record!;
        const row = r.inbox.get(String(first.json['id']))!;
        assert.equal(row.source, rec['source']);
        assert.equal(row.provider_id, rec['provider_fax_id']);
        assert.equal(row.from_number, rec['from']);
        assert.equal(row.to_number, rec['to']);
        assert.equal(row.pages, rec['pages']);
        assert.equal(row.document_sha256, rec['document_sha256']);

        const again = await send(r, fixture);
        assert.deepEqual(again, first, 'a repeat gets the same answer');
        assert.equal(count(r), 1, 'and stores nothing new');
      } finally {
        await r.close();
      }
    });
  }

  it('names the missing fields', async () => {
    const fixture = loadHttpFixture('asterisk-inbound-missing-fields');
    const r = await startReceiver(fixture);
    try {
      const res = await send(r, fixture);
      assert.match(String(res.json['detail']), /tiff_path, uniqueid/);
    } finally {
      await r.close();
    }
  });
});

describe('POST /_internal/asterisk/inbound, refusals', () => {
  let r: Receiver;
  let base: HttpFixture;
  before(async () => {
    base = loadHttpFixture('asterisk-inbound-valid');
    r = await startReceiver(base, { bodyLimit: 64 * 1024 });
  });
  after(() => r.close());

  function body(fields: Record<string, unknown>): Buffer {
    return Buffer.from(
      JSON.stringify({ tiff_path: `${r.spool}/inbound/1795766391.41.tif`, to_number: '1', from_number: '2', faxstatus: 'SUCCESS', faxpages: 1, uniqueid: '1795766391.99', ...fields }),
    );
  }

  it('a symlink in the spool pointing out of it, a non-TIFF file, a directory: 400, nothing stored', async () => {
    const { symlink, writeFile } = await import('node:fs/promises');
    await symlink('/etc/hostname', path.join(r.spool, 'inbound', 'link.tif'));
    await writeFile(path.join(r.spool, 'inbound', 'text.tif'), 'hello, not a fax');
    for (const [p, why] of [
      ['inbound/link.tif', /symlink/],
      ['inbound/text.tif', /not a TIFF/],
      ['inbound', /not-regular/],
      ['inbound/missing.tif', /missing/],
    ] as const) {
      const res = await send(r, base, { body: body({ tiff_path: `${r.spool}/${p}` }) });
      assert.equal(res.status, 400, p);
      assert.match(String(res.json['detail']), why);
    }
    assert.equal(count(r), 0);
  });

  it('credentials are checked before the body is read: a wrong secret with garbage is 401, not 400', async () => {
    const res = await send(r, base, { headers: { 'X-Internal-Secret': 'nope' }, body: Buffer.from('{not json') });
    assert.equal(res.status, 401);
    assert.equal(res.json['detail'], 'Invalid internal secret');
  });

  it('malformed bodies: 400 with a message (never 422 or 500)', async () => {
    for (const bad of ['{not json', '[]', '"x"', JSON.stringify({ tiff_path: 1, uniqueid: 'x' }), JSON.stringify({ tiff_path: null, uniqueid: 'x', to_number: 5 })]) {
      const res = await send(r, base, { body: Buffer.from(bad) });
      assert.equal(res.status, 400, bad);
      assert.ok(String(res.json['detail']).length > 5);
    }
    const form = await send(r, base, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from('a=b') });
    assert.equal(form.status, 400);
    assert.equal(count(r), 0);
  });

  it('a body over the limit is 413', async () => {
    const res = await send(r, base, { body: body({ padding: 'x'.repeat(100 * 1024) }) });
    assert.equal(res.status, 413);
    assert.equal(count(r), 0);
  });

  it('a failed reception without a document (tiff_path null) is recorded as such', async () => {
    const res = await send(r, base, { body: body({ tiff_path: null, faxstatus: 'FAILED', faxpages: 0, uniqueid: '1795766391.77' }) });
    assert.equal(res.status, 200);
    const row = r.inbox.get(String(res.json['id']))!;
    assert.equal(row.status, 'failed');
    assert.equal(row.document_path, null);
  });
});
