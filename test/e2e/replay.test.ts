/**
 * The recorded real Asterisk sessions, replayed byte for byte against the running daemon: it must
 * send exactly the recorded commands, ack, and turn each into the right delivered event.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inboxCount, recordedEvent } from '../helpers/db.js';
import { replaySession } from '../helpers/fake-asterisk.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { ASTERISK, loadSession, sessionIndex, withSpool, type RecordedSession } from '../helpers/fixtures.js';

const ACK = 'SET VARIABLE FAXBRIDGE_ACK 1\n';

/** Sessions whose recording server did what faxbridge does: the 13 reads, then the ack. */
const ackScenarios = sessionIndex()
  .map((row) => loadSession(row.scenario))
  .filter((s) => s.exchanges?.length === 14 && s.exchanges.at(-1)?.send === ACK);

async function placeTiff(session: RecordedSession, spool: string): Promise<void> {
  if (session.tiff) await copyFile(path.join(ASTERISK, session.tiff), withSpool(session.faxfile, spool));
}

describe('recorded Asterisk sessions, replayed byte for byte', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(() => d.stop());

  it('covers the recorded scenarios', () => {
    const names = ackScenarios.map((s) => s.scenario);
    for (const must of ['success-3p', 'success-3p-sighup', 'success-1p-name', 'success-2p-exotic-name', 'failed-partial', 'zero-page', 'no-file', 'ack-slow']) {
      assert.ok(names.includes(must), `${must} is replayed`);
    }
    assert.ok(ackScenarios.length >= 18, `${ackScenarios.length} scenarios`);
  });

  for (const session of ackScenarios.filter((s) => !s.scenario.startsWith('concurrent-'))) {
    it(`${session.scenario}: same commands, acked, right event`, async () => {
      await placeTiff(session, d.spoolDir);
      const result = await replaySession(d.agiPort, session, d.spoolDir, { chunkDelayMs: 5 });
      assert.equal(result.mismatch, null);
      assert.equal(result.received.at(-1), ACK);
      assert.ok(result.serverEnded, 'daemon half-closed');

      const vars = session.variables!;
      const uniqueid = session.call.uniqueid;
      const body = recordedEvent(d.dataDir, uniqueid);
      assert.ok(body, 'event committed before the ack');
      assert.equal(body['uniqueid'], uniqueid);
      assert.equal(body['faxstatus'], vars['FAXSTATUS']);
      assert.equal(body['faxpages'], Number(vars['FAXPAGES']));
      assert.equal(body['faxerror'], vars['FAXERROR'] || null);
      assert.equal(body['from_number'], vars['CALLERID(num)']);
      assert.equal(body['from_name'], vars['CALLERID(name)']);
      assert.equal(body['to_number'], vars['FAXBRIDGE_TO']);
      assert.equal(body['remote_station_id'], vars['REMOTESTATIONID'] || null);
      if (session.tiff) {
        const bytes = await readFile(path.join(ASTERISK, session.tiff));
        assert.equal(body['tiff_pages'], session.tiff_info!.tiffinfo_pages);
        assert.equal(body['tiff_sha256'], createHash('sha256').update(bytes).digest('hex'));
        assert.equal(body['tiff_path'], withSpool(session.faxfile, d.spoolDir));
      } else {
        assert.equal(body['tiff_path'], null);
        assert.equal(body['tiff_problem'], 'no file');
      }
      await eventually(() => inboxCount(d.dataDir, uniqueid) === 1, `${uniqueid} in the inbox`);
    });
  }

  it('the 10 concurrent sessions, all at once, each get their own answers', async () => {
    const sessions = ackScenarios.filter((s) => s.scenario.startsWith('concurrent-'));
    assert.equal(sessions.length, 10);
    await Promise.all(sessions.map((s) => placeTiff(s, d.spoolDir)));
    const results = await Promise.all(sessions.map((s) => replaySession(d.agiPort, s, d.spoolDir)));
    for (const r of results) assert.equal(r.mismatch, null);
    for (const s of sessions) {
      assert.equal(recordedEvent(d.dataDir, s.call.uniqueid)?.['to_number'], s.variables!['FAXBRIDGE_TO']);
      await eventually(() => inboxCount(d.dataDir, s.call.uniqueid) === 1, `${s.scenario} in the inbox`);
    }
  });

  it('the header split at every byte offset still gives the same session', async () => {
    const session = loadSession('success-2p-exotic-name');
    await placeTiff(session, d.spoolDir);
    const headerLength = Buffer.byteLength(withSpool(session.header_chunks.join(''), d.spoolDir));
    for (let cut = 1; cut < headerLength; cut++) {
      const result = await replaySession(d.agiPort, session, d.spoolDir, { headerCuts: [cut] });
      assert.equal(result.mismatch, null, `cut at ${cut}`);
    }
    const body = recordedEvent(d.dataDir, session.call.uniqueid)!;
    assert.equal(body['from_name'], 'ACME: Sales & Müller (100% = ok)');
    assert.equal(inboxCount(d.dataDir, session.call.uniqueid), 1, 'the same UNIQUEID many times is one fax');
  });

  it('logs one fax.received line per session, with masked numbers', () => {
    const line = d.lines.find((l) => l.msg === 'fax.received' && l['uniqueid'] === '1795757610.5');
    assert.ok(line);
    assert.equal(line['outcome'], 'acked');
    assert.equal(line['from'], '*******0001');
    assert.ok(!d.raw.some((r) => r.includes('"level":"info"') && r.includes('15551230001')), 'no full number at info');
  });
});
