/** The fallback marker path, with the nine real markers and real chokidar on a real spool. */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeComponent, parseMarker } from '../../src/asterisk/marker.js';
import { watchSpool } from '../../src/asterisk/spool-watcher.js';
import { eventually, memoryLogger, startTestDaemon, tempDir } from '../helpers/daemon.js';
import { inboxCount, recordedEvent } from '../helpers/db.js';
import { sendFax } from '../helpers/fax.js';
import { ASTERISK, loadSession } from '../helpers/fixtures.js';

/** Puts a recorded marker (and its TIFF, if Asterisk left one) where Asterisk wrote them. */
async function placeRecorded(spool: string, scenario: string): Promise<{ marker: string; uniqueid: string }> {
  const session = loadSession(scenario);
  const text = await readFile(path.join(ASTERISK, 'markers', `${scenario}.pending`));
  const uniqueid = parseMarker(text)!.uniqueid;
  const faxfile = path.join(spool, `${uniqueid}.tiff`);
  if (session.tiff) await copyFile(path.join(ASTERISK, session.tiff), faxfile);
  await writeFile(`${faxfile}.pending`, text);
  return { marker: `${faxfile}.pending`, uniqueid };
}

describe('marker parsing', () => {
  it('all nine real markers parse; an empty or cut marker is "not yet"', async () => {
    for (const name of ['noack-down', 'noack-close', 'noack-accept-close', 'noack-skip', 'noack-reset', 'noack-down-exotic-name', 'noack-down-failed-partial', 'noack-down-no-file', 'noack-down-zero-page']) {
      const bytes = await readFile(path.join(ASTERISK, 'markers', `${name}.pending`));
      const f = parseMarker(bytes);
      assert.ok(f, name);
      for (let cut = 0; cut < bytes.length; cut++) {
        const partial = parseMarker(bytes.subarray(0, cut));
        assert.equal(partial, null, `${name} cut at ${cut}`);
      }
    }
    const exotic = parseMarker(await readFile(path.join(ASTERISK, 'markers', 'noack-down-exotic-name.pending')))!;
    assert.equal(exotic.from_name, 'ACME: Sales & Müller (100% = ok)');
  });

  it('a caller name that is not UTF-8 decodes with replacement instead of throwing', () => {
    assert.equal(decodeComponent('M%FCller'), 'M\uFFFDller');
    assert.equal(decodeComponent('M%C3%BCller'), 'Müller');
  });
});

describe('spool watcher', () => {
  it('a marker already there at start-up (the daemon was down) is delivered, then removed', async () => {
    const root = await tempDir();
    const spool = path.join(root, 'spool');
    await mkdir(spool);
    const placed = await Promise.all(['noack-down', 'noack-down-no-file', 'noack-down-failed-partial', 'noack-down-exotic-name'].map((s) => placeRecorded(spool, s)));
    const d = await startTestDaemon({ dataDir: path.join(root, 'data'), spoolDir: spool });
    try {
      for (const { marker, uniqueid } of placed) {
        await eventually(() => !existsSync(marker), `${path.basename(marker)} removed`);
        await eventually(() => inboxCount(d.dataDir, uniqueid) === 1, `${uniqueid} in the inbox`);
      }
      const exotic = recordedEvent(d.dataDir, placed[3]!.uniqueid)!;
      assert.equal(exotic['from_name'], 'ACME: Sales & Müller (100% = ok)');
      assert.equal(exotic['via'], 'marker');
      assert.equal(exotic['tiff_pages'], 2);
      const noFile = recordedEvent(d.dataDir, placed[1]!.uniqueid)!;
      assert.equal(noFile['tiff_problem'], 'no file');
      assert.equal(noFile['faxstatus'], 'FAILED');
      assert.equal(recordedEvent(d.dataDir, placed[2]!.uniqueid)!['tiff_pages'], 1);
    } finally {
      await d.stop();
    }
  });

  it('a marker for a fax the AGI route already delivered is a no-op', async () => {
    const d = await startTestDaemon();
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795840000.1', { tiff: 'success-1p-name.tiff' })).acked);
      await eventually(() => inboxCount(d.dataDir, '1795840000.1') === 1, 'delivered by AGI');
      const marker = path.join(d.spoolDir, '1795840000.1.tiff.pending');
      const text = (await readFile(path.join(ASTERISK, 'markers', 'noack-skip.pending'), 'utf8')).replace(/uniqueid=[^&]+/, 'uniqueid=1795840000.1');
      await writeFile(marker, text);
      await eventually(() => !existsSync(marker), 'marker removed');
      assert.ok(d.lines.some((l) => l.msg === 'marker.ingested' && l['outcome'] === 'duplicate'));
      await sleep(200);
      assert.equal(inboxCount(d.dataDir, '1795840000.1'), 1);
    } finally {
      await d.stop();
    }
  });

  it('a marker next to a TIFF that points outside the spool: recorded without the document', async () => {
    const d = await startTestDaemon();
    const outside = await tempDir();
    try {
      await copyFile(path.join(ASTERISK, 'tiffs', 'noack-down.tiff'), path.join(outside, 'x.tiff'));
      const uniqueid = '1795840000.2';
      await symlink(path.join(outside, 'x.tiff'), path.join(d.spoolDir, `${uniqueid}.tiff`));
      const text = (await readFile(path.join(ASTERISK, 'markers', 'noack-down.pending'), 'utf8')).replace(/uniqueid=[^&]+/, `uniqueid=${uniqueid}`);
      await writeFile(path.join(d.spoolDir, `${uniqueid}.tiff.pending`), text);
      await eventually(() => recordedEvent(d.dataDir, uniqueid), 'event recorded');
      const body = recordedEvent(d.dataDir, uniqueid)!;
      assert.equal(body['tiff_path'], null);
      assert.match(String(body['tiff_problem']), /symlink/);
    } finally {
      await d.stop();
    }
  });

  it('waits out a write that is not atomic: an empty marker first, the content later', async () => {
    const d = await startTestDaemon();
    try {
      await d.daemon.spoolScanned;
      const uniqueid = '1795840000.3';
      const marker = path.join(d.spoolDir, `${uniqueid}.tiff.pending`);
      await writeFile(marker, '');
      await sleep(400);
      assert.ok(existsSync(marker), 'an empty marker is left alone');
      const text = (await readFile(path.join(ASTERISK, 'markers', 'noack-down-no-file.pending'), 'utf8')).replace(/uniqueid=[^&]+/, `uniqueid=${uniqueid}`);
      await writeFile(marker, text.slice(0, 100));
      await sleep(100);
      await writeFile(marker, text);
      await eventually(() => !existsSync(marker), 'marker ingested once complete');
      assert.equal(recordedEvent(d.dataDir, uniqueid)!['faxstatus'], 'FAILED');
      const bad = path.join(d.spoolDir, 'bad.tiff.pending');
      await writeFile(bad, text.replace(/uniqueid=[^&]+/, 'uniqueid=..%2F..%2Fetc'));
      await eventually(() => existsSync(`${bad}.rejected`), 'a marker with a bad UNIQUEID is set aside');
    } finally {
      await d.stop();
    }
  });

  it('a spool dir that appears after start is watched once it exists', async () => {
    const spool = path.join(await tempDir(), 'spool-later');
    const recorded: string[] = [];
    const { logger, lines } = memoryLogger();
    const w = watchSpool({ spoolDir: spool, logger, spoolPollMs: 50, now: () => new Date(), recordFax: async (e) => (recorded.push(e.uniqueid), { created: true }) });
    try {
      await w.ready;
      await mkdir(spool);
      await eventually(() => lines.some((l) => l.msg === 'marker.watch_started'), 'watcher started');
      const text = (await readFile(path.join(ASTERISK, 'markers', 'noack-down-no-file.pending'), 'utf8')).replace(/uniqueid=[^&]+/, 'uniqueid=1795840000.9');
      await writeFile(path.join(spool, '1795840000.9.tiff.pending'), text);
      await eventually(() => recorded.includes('1795840000.9'), 'marker ingested');
    } finally {
      await w.close();
    }
  });
});
