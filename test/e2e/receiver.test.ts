/** `/_internal/asterisk/inbound` on the real daemon, driven by the provider fixtures. */
import assert from 'node:assert/strict';
import { readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InboxRow } from '../../src/inbox/store.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { queryOne } from '../helpers/db.js';
import { loadHttpFixture, type HttpFixture } from '../helpers/fixtures.js';
import { sendFixture as send, startFixtureDaemon } from '../helpers/fixture-daemon.js';

function count(d: TestDaemon): number {
  return queryOne<{ n: number }>(d.dataDir, 'SELECT COUNT(*) AS n FROM inbox')!.n;
}

function record(d: TestDaemon, id: string): InboxRow {
  return queryOne<InboxRow>(d.dataDir, 'SELECT * FROM inbox WHERE id = ?', id)!;
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
      const r = await startFixtureDaemon(fixture);
      try {
        const first = await send(r, fixture);
        assert.equal(first.status, fixture.expect.status, JSON.stringify(first.json));
        if (!fixture.expect.stored) {
          assert.equal(count(r), 0, 'nothing stored');
          assert.equal(typeof first.json['detail'], 'string', 'a clear message');
          const docs = await readdir(path.join(r.dataDir, 'documents')).catch(() => [] as string[]);
          assert.equal(docs.length, 0, 'no document written');
          return;
        }
        assert.equal(first.json['status'], 'ok');
        assert.match(String(first.json['id']), /^[0-9a-f]{32}$/);
        const rec = fixture.expect.record!;
        const row = record(r, String(first.json['id']));
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
        await r.stop();
      }
    });
  }

  it('names the missing fields', async () => {
    const fixture = loadHttpFixture('asterisk-inbound-missing-fields');
    const r = await startFixtureDaemon(fixture);
    try {
      const res = await send(r, fixture);
      assert.match(String(res.json['detail']), /tiff_path, uniqueid/);
    } finally {
      await r.stop();
    }
  });
});

describe('POST /_internal/asterisk/inbound, refusals', () => {
  let r: TestDaemon;
  let base: HttpFixture;
  before(async () => {
    base = loadHttpFixture('asterisk-inbound-valid');
    r = await startFixtureDaemon(base);
  });
  after(() => r.stop());

  function body(fields: Record<string, unknown>): Buffer {
    return Buffer.from(
      JSON.stringify({ tiff_path: `${r.spoolDir}/inbound/1795766391.41.tif`, to_number: '1', from_number: '2', faxstatus: 'SUCCESS', faxpages: 1, uniqueid: '1795766391.99', ...fields }),
    );
  }

  it('a symlink in the spool pointing out of it, a non-TIFF file, a directory: 400, nothing stored', async () => {
    await symlink('/etc/hostname', path.join(r.spoolDir, 'inbound', 'link.tif'));
    await writeFile(path.join(r.spoolDir, 'inbound', 'text.tif'), 'hello, not a fax');
    for (const [p, why] of [
      ['inbound/link.tif', /symlink/],
      ['inbound/text.tif', /not a TIFF/],
      ['inbound', /not-regular/],
      ['inbound/missing.tif', /missing/],
    ] as const) {
      const res = await send(r, base, { body: body({ tiff_path: `${r.spoolDir}/${p}` }) });
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

  it('a body over the limit (32 MiB on this route) is 413', async () => {
    const res = await send(r, base, { body: body({ padding: 'x'.repeat(33 * 1024 * 1024) }) });
    assert.equal(res.status, 413);
    assert.equal(count(r), 0);
  });

  it('a failed reception without a document (tiff_path null) is recorded as such', async () => {
    const res = await send(r, base, { body: body({ tiff_path: null, faxstatus: 'FAILED', faxpages: 0, uniqueid: '1795766391.77' }) });
    assert.equal(res.status, 200);
    const row = record(r, String(res.json['id']));
    assert.equal(row.status, 'failed');
    assert.equal(row.document_path, null);
  });
});
