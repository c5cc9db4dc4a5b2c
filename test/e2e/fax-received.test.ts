/** The fax/received route through the whole daemon: documents, refusals, duplicates. */
import assert from 'node:assert/strict';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simulateFax } from '../../src/asterisk/simulate.js';
import { eventually, startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { recordedEvent, queryAll } from '../helpers/db.js';
import { eventKeyHash } from '../../src/domain/ids.js';
import { sendFax } from '../helpers/fax.js';
import { ASTERISK, PROVIDERS } from '../helpers/fixtures.js';

const TIFF = (name: string) => path.join(ASTERISK, 'tiffs', name);

describe('fax/received route', () => {
  let d: TestDaemon;
  let n = 0;
  before(async () => {
    d = await startTestDaemon();
  });
  after(() => d.stop());

  function uid(): string {
    return `1795760000.${++n}`;
  }

  async function play(uniqueid: string, variables: Record<string, string | undefined>, status = 'SUCCESS') {
    return simulateFax({
      agi: { host: '127.0.0.1', port: d.agiPort },
      spoolDir: d.spoolDir,
      status,
      pages: 2,
      from: '15551230000',
      callerName: 'Test',
      to: '15559870000',
      uniqueid,
      variables,
    });
  }

  const event = (uniqueid: string) => recordedEvent(d.dataDir, uniqueid)!;
  const rows = (sql: string, ...params: unknown[]) => queryAll(d.dataDir, sql, ...params);

  it('complete: SUCCESS with all pages', async () => {
    const id = uid();
    const faxfile = path.join(d.spoolDir, `${id}.tiff`);
    await copyFile(TIFF('success-3p.tiff'), faxfile);
    const r = await play(id, { FAXFILE: faxfile, FAXPAGES: '3' });
    assert.ok(r.acked);
    const e = event(id);
    assert.equal(e['tiff_path'], faxfile);
    assert.equal(e['tiff_pages'], 3);
    assert.equal(e['tiff_problem'], null);
  });

  it('partial: FAILED with the page that arrived, kept as a document', async () => {
    const id = uid();
    const faxfile = path.join(d.spoolDir, `${id}.tiff`);
    await copyFile(TIFF('failed-partial.tiff'), faxfile);
    const r = await play(id, { FAXFILE: faxfile, FAXPAGES: '1', FAXERROR: 'The call dropped prematurely' }, 'FAILED');
    assert.ok(r.acked);
    const e = event(id);
    assert.equal(e['faxstatus'], 'FAILED');
    assert.equal(e['tiff_pages'], 1);
    assert.equal(e['faxerror'], 'The call dropped prematurely');
    await eventually(() => rows(`SELECT 1 FROM inbox WHERE provider_id = ? AND status = 'failed' AND document_path IS NOT NULL`, id).length, 'failed fax in inbox');
  });

  it('zero pages: the 8-byte file is an event without a document', async () => {
    const id = uid();
    const faxfile = path.join(d.spoolDir, `${id}.tiff`);
    await copyFile(TIFF('zero-page.transient.tiff'), faxfile);
    const r = await play(id, { FAXFILE: faxfile, FAXPAGES: '0' }, 'FAILED');
    assert.ok(r.acked);
    const e = event(id);
    assert.equal(e['tiff_path'], null);
    assert.equal(e['tiff_pages'], 0);
    assert.equal(e['tiff_problem'], 'zero pages');
    await eventually(() => rows(`SELECT 1 FROM inbox WHERE provider_id = ? AND document_path IS NULL`, id).length, 'doc-less event in inbox');
  });

  it('no file, FAXFILE and FAXSTATUS unset: the <spool>/<uniqueid>.tif fallback, then a failure event', async () => {
    const id = uid();
    const r = await play(id, { FAXFILE: undefined, FAXSTATUS: undefined, FAXPAGES: '0' });
    assert.ok(r.acked);
    const e = event(id);
    assert.equal(e['faxstatus'], 'FAILED', 'unset FAXSTATUS is a failure');
    assert.equal(e['tiff_problem'], 'no file');

    const id2 = uid();
    await copyFile(TIFF('noack-down.tiff'), path.join(d.spoolDir, `${id2}.tif`));
    assert.ok((await play(id2, { FAXFILE: undefined })).acked);
    assert.equal(event(id2)['tiff_pages'], 2);
  });

  it('records a page-count mismatch with FAXPAGES', async () => {
    const id = uid();
    const faxfile = path.join(d.spoolDir, `${id}.tiff`);
    await copyFile(TIFF('success-3p.tiff'), faxfile);
    await play(id, { FAXFILE: faxfile, FAXPAGES: '5' });
    assert.ok(d.lines.some((l) => l.msg === 'fax.pages_mismatch' && l['uniqueid'] === id && l['tiff_pages'] === 3));
  });

  it('refuses a path outside the spool, a symlink out of it, and a file that is not a TIFF; still acks the event', async () => {
    const outside = await tempDir();
    await copyFile(TIFF('success-1p-name.tiff'), path.join(outside, 'x.tiff'));
    const link = path.join(d.spoolDir, 'link.tiff');
    await symlink(path.join(outside, 'x.tiff'), link);
    const escape = `${d.spoolDir}/../../${path.basename(outside)}/x.tiff`;
    const pdf = path.join(d.spoolDir, 'not-a-fax.tiff');
    await copyFile(path.join(PROVIDERS, 'docs', 'one-page.pdf'), pdf);
    await mkdir(path.join(d.spoolDir, 'dir.tiff'));
    const cases: Array<[string, RegExp]> = [
      [path.join(outside, 'x.tiff'), /outside the spool/],
      [link, /symlink/],
      [escape, /outside the spool/],
      ['/etc/passwd', /outside the spool/],
      ['/nonexistent/x.tiff', /outside the spool/],
      ['relative/x.tiff', /not absolute/],
      [pdf, /not a TIFF/],
      [path.join(d.spoolDir, 'dir.tiff'), /not a regular file/],
    ];
    for (const [faxfile, why] of cases) {
      const id = uid();
      const r = await play(id, { FAXFILE: faxfile });
      assert.ok(r.acked, `${faxfile} still acked as an event`);
      const e = event(id);
      assert.equal(e['tiff_path'], null, faxfile);
      assert.match(String(e['tiff_problem']), why, faxfile);
    }
  });

  it('the same UNIQUEID twice is one fax: both acked, one inbox record, nothing queued', async () => {
    const id = uid();
    const faxfile = path.join(d.spoolDir, `${id}.tiff`);
    await copyFile(TIFF('success-2p-exotic-name.tiff'), faxfile);
    const [a, b] = await Promise.all([play(id, { FAXFILE: faxfile }), play(id, { FAXFILE: faxfile })]);
    assert.ok(a.acked && b.acked);
    // Recorded straight into the inbox before the ack: no outbox row, no wait.
    assert.equal(rows('SELECT 1 FROM outbox WHERE event_key = ?', `asterisk:${id}`).length, 0);
    assert.equal(rows('SELECT 1 FROM inbox WHERE provider_id = ?', id).length, 1);
    const outcomes = d.lines.filter((l) => l.msg === 'fax.received' && l['uniqueid'] === id).map((l) => l['outcome']);
    assert.deepEqual(outcomes.sort(), ['acked', 'duplicate']);
  });

  it('another fax under a used UNIQUEID is recorded apart and flagged, never dropped (a spoofed "failed" first, then the real one)', async () => {
    const id = uid();
    const spoof = await play(id, { FAXFILE: path.join(d.spoolDir, 'nothing-here.tiff') }, 'FAILED');
    assert.ok(spoof.acked);
    const faxfile = path.join(d.spoolDir, `${id}.tiff`);
    await copyFile(TIFF('success-3p.tiff'), faxfile);
    const real = await play(id, { FAXFILE: faxfile, FAXPAGES: '3' });
    assert.ok(real.acked);
    const records = rows('SELECT provider_id, document_sha256 FROM inbox WHERE provider_id LIKE ?', `${id}%`) as Array<{ provider_id: string; document_sha256: string | null }>;
    assert.equal(records.length, 2, 'both kept');
    assert.ok(records.some((r) => r.provider_id === id && r.document_sha256 === null));
    assert.ok(records.some((r) => r.provider_id.startsWith(`${id}~`) && r.document_sha256 !== null), 'the real fax, with its document');
    assert.ok(d.lines.some((l) => l.msg === 'inbox.conflict' && l.level === 'error'));
    // The same real fax again is now a plain duplicate.
    assert.ok((await play(id, { FAXFILE: faxfile, FAXPAGES: '3' })).acked);
    assert.equal(rows('SELECT 1 FROM inbox WHERE provider_id LIKE ?', `${id}%`).length, 2);
  });

  it('a malformed UNIQUEID is refused without an ack', async () => {
    const r = await play('../../etc/passwd', {});
    assert.equal(r.acked, false);
  });

  it('a caller name with invalid UTF-8 is stored with replacement characters, not lost', async () => {
    const id = uid();
    const r = await play(id, { 'CALLERID(name)': 'M\uFFFDller' });
    assert.ok(r.acked);
    assert.equal(event(id)['from_name'], 'M\uFFFDller');
  });
});

describe('a spool that is missing at start', () => {
  it('the daemon starts, warns, and still acks the fax as a failure event', async () => {
    const root = await tempDir();
    const spoolDir = path.join(root, 'spool');
    const d = await startTestDaemon({ dataDir: path.join(root, 'data'), spoolDir, createSpool: false });
    try {
      assert.ok(d.lines.some((l) => l.msg === 'config.spool_dir_missing'));
      const r = await simulateFax({
        agi: { host: '127.0.0.1', port: d.agiPort },
        spoolDir,
        status: 'SUCCESS',
        from: '1',
        callerName: 'x',
        to: '2',
        uniqueid: '1795760001.1',
        variables: { FAXFILE: path.join(spoolDir, '1795760001.1.tiff') },
      });
      assert.ok(r.acked);
    } finally {
      await d.stop();
    }
  });
});

describe('--edge-name', () => {
  it('keys every fax by edge and UNIQUEID, so two Asterisk hosts without systemname do not collide', async () => {
    const a = await startTestDaemon({ raw: { edgeName: 'pbx-a' } });
    try {
      assert.ok((await sendFax(a.agiPort, a.spoolDir, '1796300000.1', { tiff: 'success-1p-name.tiff' })).acked);
      const [row] = queryAll<{ id: string; provider_id: string }>(a.dataDir, 'SELECT id, provider_id FROM inbox');
      assert.equal(row!.provider_id, 'pbx-a/1796300000.1');
      assert.equal(row!.id, eventKeyHash('asterisk', 'pbx-a/1796300000.1'));
    } finally {
      await a.stop();
    }
  });
});
