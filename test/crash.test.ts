/** kill -9 of a real daemon process between the ack and the delivery, then a restart. */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startChildDaemon } from './helpers/child-daemon.js';
import { eventually, tempDir } from './helpers/daemon.js';
import { queryAll } from './helpers/db.js';
import { sendFax } from './helpers/fax.js';

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
  it('kill -9 while the delivery is in flight; the restart delivers it, and it is stored once', async () => {
    const { spool, data, args } = await setup();
    let stall = true;
    let seenInFlight!: () => void;
    const inFlight = new Promise<void>((r) => (seenInFlight = r));
    const answered: string[] = [];
    const ids: string[] = [];
    const target = http.createServer((req, res) => {
      ids.push(String(req.headers['webhook-id']));
      req.resume();
      if (stall) return seenInFlight(); // hold the request: the daemon dies waiting
      req.on('end', () => {
        answered.push(String(req.headers['webhook-id']));
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

      stall = false;
      const second = await startChildDaemon([...args, '--target', url]);
      try {
        await eventually(() => queryAll<{ state: string }>(data, `SELECT state FROM outbox WHERE state = 'delivered'`).length === 1, 'delivered after restart', 8000);
        assert.equal(answered.length, 1, 'exactly one delivery accepted');
        assert.ok(ids.every((id) => id === ids[0]), 'the retry carries the same webhook-id');
      } finally {
        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0, 'SIGTERM is a clean exit');
      }
    } finally {
      target.close();
    }
  });

  it('own receiver: kill -9 right after the ack, restart: exactly one inbox record', async () => {
    const { spool, data, args } = await setup();
    const first = await startChildDaemon(args);
    await receiveFax(first.agiPort, spool, '1795780001.1');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await startChildDaemon(args);
    try {
      await eventually(() => queryAll(data, `SELECT 1 FROM outbox WHERE state = 'delivered'`).length === 1, 'delivered', 8000);
      assert.equal(queryAll(data, 'SELECT 1 FROM inbox WHERE provider_id = ?', '1795780001.1').length, 1);
      // A second fax after the restart still works, and the first is not delivered again.
      await receiveFax(second.agiPort, spool, '1795780001.2');
      await eventually(() => queryAll(data, 'SELECT 1 FROM inbox').length === 2, 'second fax stored', 8000);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
