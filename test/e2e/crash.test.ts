/** kill -9 of a real daemon process between the ack and the delivery, then a restart. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startChildDaemon } from '../helpers/child-daemon.js';
import { eventually, tempDir } from '../helpers/daemon.js';
import { queryAll } from '../helpers/db.js';
import { sendFax } from '../helpers/fax.js';

async function setup() {
  const root = await tempDir();
  const spool = path.join(root, 'spool');
  const data = path.join(root, 'data');
  await mkdir(spool, { recursive: true });
  return { spool, data, args: ['--spool-dir', spool, '--data-dir', data, '--retry-schedule', '0,100,200,300,300,300,300,300'] };
}

async function receiveFax(agiPort: number, spool: string, uniqueid: string): Promise<void> {
  assert.ok((await sendFax(agiPort, spool, uniqueid, { tiff: 'success-3p.tiff' })).acked, 'acked before the crash');
}

describe('crash between ack and delivery', () => {
  it('kill -9 while the delivery is in flight, spool cleaned meanwhile; the restart delivers it once, with the same bytes', async () => {
    const { spool, data, args } = await setup();
    let stall = true;
    let seenInFlight!: () => void;
    const inFlight = new Promise<void>((r) => (seenInFlight = r));
    const answered: string[] = [];
    const ids: string[] = [];
    const bodies: string[] = [];
    const target = http.createServer((req, res) => {
      ids.push(String(req.headers['webhook-id']));
      if (stall) return void (req.resume(), seenInFlight()); // hold the request: the daemon dies waiting
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        answered.push(String(req.headers['webhook-id']));
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"abc","status":"ok"}');
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/_internal/asterisk/inbound`;
    try {
      const first = await startChildDaemon([...args, '--target', url]);
      await receiveFax(first.agiPort, spool, '1795780000.1');
      await inFlight;
      first.child.kill('SIGKILL');
      await first.exited;
      target.closeAllConnections();
      assert.equal(queryAll<{ state: string }>(data, 'SELECT state FROM outbox')[0]!.state, 'pending', 'the ack survived the crash');
      const received = readFileSync(path.join(spool, '1795780000.1.tiff'));
      // Someone cleans the spool while the target is down: the pinned copy still has the fax.
      for (const name of await readdir(spool)) await rm(path.join(spool, name));

      stall = false;
      const second = await startChildDaemon([...args, '--target', url]);
      try {
        await eventually(() => queryAll<{ state: string }>(data, `SELECT state FROM outbox WHERE state = 'delivered'`).length === 1, 'delivered after restart', 8000);
        assert.equal(answered.length, 1, 'exactly one delivery accepted');
        assert.ok(ids.every((id) => id === ids[0]), 'the retry carries the same webhook-id');
        assert.ok(Buffer.from(JSON.parse(bodies[0]!).tiff_base64, 'base64').equals(received), 'the fax as it was acked');
        await eventually(async () => (await readdir(path.join(data, 'outbox-documents'))).length === 0, 'the pinned copy removed once delivered');
      } finally {
        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0, 'SIGTERM is a clean exit');
      }
    } finally {
      target.close();
    }
  });

  it('own inbox (local ingest): kill -9 right after the ack, restart: exactly one inbox record with its document', async () => {
    const { spool, data, args } = await setup();
    const first = await startChildDaemon(args);
    await receiveFax(first.agiPort, spool, '1795780001.1');
    first.child.kill('SIGKILL');
    await first.exited;
    // Durable at the ack: readable while no daemon runs at all.
    const [record] = queryAll<{ document_path: string; document_sha256: string }>(data, 'SELECT document_path, document_sha256 FROM inbox WHERE provider_id = ?', '1795780001.1');
    assert.ok(record, 'recorded before the ack');
    assert.equal(createHash('sha256').update(readFileSync(record.document_path)).digest('hex'), record.document_sha256);
    assert.equal(queryAll(data, 'SELECT 1 FROM outbox').length, 0, 'nothing to deliver');
    const second = await startChildDaemon(args);
    try {
      await receiveFax(second.agiPort, spool, '1795780001.1');
      assert.equal(queryAll(data, 'SELECT 1 FROM inbox WHERE provider_id = ?', '1795780001.1').length, 1, 'a replay after the restart is a duplicate');
      // A second fax after the restart still works, and the first is not delivered again.
      await receiveFax(second.agiPort, spool, '1795780001.2');
      await eventually(() => queryAll(data, 'SELECT 1 FROM inbox').length === 2, 'second fax stored', 8000);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
