/** Garbage, slow and half-open AGI peers never stop the daemon from serving the next fax. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { sendFax } from '../helpers/fax.js';

describe('hostile AGI peers', () => {
  let d: TestDaemon;
  let n = 0;
  before(async () => {
    d = await startTestDaemon({
      raw: { maxSessions: 40 },
      overrides: { agiTimeouts: { headerMs: 300, commandMs: 300, sessionMs: 1000 } },
    });
  });
  after(() => d.stop());

  async function goodFax(): Promise<boolean> {
    return (await sendFax(d.agiPort, d.spoolDir, `1795800000.${++n}`, { tiff: 'success-1p-name.tiff' })).acked;
  }

  function connect(): net.Socket {
    const s = net.connect(d.agiPort, '127.0.0.1');
    s.on('error', () => {});
    return s;
  }

  it('random garbage, binary noise, a flood without newlines, and resets', async () => {
    const peers: net.Socket[] = [];
    for (let i = 0; i < 10; i++) {
      const s = connect();
      s.write(randomBytes(2000));
      peers.push(s);
    }
    const flood = connect();
    for (let i = 0; i < 100; i++) flood.write(Buffer.alloc(1024, 0x41));
    const reset = connect();
    reset.write('agi_network: yes\nagi_network_script: fax/received\n');
    await sleep(20);
    reset.resetAndDestroy();
    const wrongAnswers = connect();
    wrongAnswers.write('agi_network_script: fax/received\nagi_arg_1: 1795800000.999\n\n');
    wrongAnswers.write('200 result=1 (unasked)\nutter nonsense\n');
    assert.ok(await goodFax(), 'served while under garbage');
    await sleep(400);
    assert.ok(await goodFax(), 'served after the garbage was dropped');
    for (const p of peers) p.destroy();
    flood.destroy();
  });

  it('silent and half-open peers are dropped at their deadlines; the next fax is served meanwhile', async () => {
    const silent = Array.from({ length: 15 }, connect);
    const halfOpen = connect();
    halfOpen.write('agi_network: yes\nagi_network_script: fax/received\nagi_arg_1: 1795800000.998\n\n');
    halfOpen.end(); // FIN after the header, never reads
    assert.ok(await goodFax());
    const closed = await Promise.all(silent.map((s) => new Promise<boolean>((r) => s.on('close', () => r(true)))));
    assert.ok(closed.every(Boolean));
    assert.ok(await goodFax());
    const stats = (await (await fetch(`${d.httpUrl}/healthz`)).json()) as { agi: { active: number; timeouts: number } };
    assert.equal(stats.agi.active, 0, 'no session leaked');
    assert.ok(stats.agi.timeouts >= 15);
  });
});
