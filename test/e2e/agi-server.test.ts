/** The FastAGI session and server over real sockets, against a scripted Asterisk side. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AgiClosedError,
  AgiDeadChannelError,
  AgiInvalidCommandError,
  AgiTimeoutError,
  AgiUsageError,
} from '../../src/agi/errors.js';
import { createAgiServer, type AgiRoute, type AgiServer } from '../../src/agi/server.js';
import type { AgiSession } from '../../src/agi/session.js';
import { memoryLogger } from '../helpers/daemon.js';
import { loadSession } from '../helpers/fixtures.js';

const HEADER = (script: string) =>
  `agi_network: yes\nagi_network_script: ${script}\nagi_request: agi://127.0.0.1:4573/${script}\nagi_uniqueid: 1795757610.5\nagi_calleridname: ACME: Sales\nagi_accountcode: \nagi_arg_1: 1795757610.5\n\n`;

/** A scripted Asterisk: collects what the server writes, lets the test write back. */
class Peer {
  readonly socket: net.Socket;
  private data = '';
  private waiters: Array<() => void> = [];
  ended = false;
  closed: Promise<void>;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (c) => {
      this.data += c.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('end', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
  }
  /** Resolves with everything received once it contains `text` (or the server ended). */
  async until(text: string, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.data.includes(text)) {
      if (this.ended) throw new Error(`server ended before ${JSON.stringify(text)}; got ${JSON.stringify(this.data)}`);
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)}; got ${JSON.stringify(this.data)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.data;
  }
  get received(): string {
    return this.data;
  }
  write(text: string): void {
    this.socket.write(text);
  }
}

describe('AGI session and server', () => {
  let server: AgiServer;
  let port: number;
  const seen: { session?: AgiSession; results: unknown[] } = { results: [] };
  const routes: Record<string, AgiRoute> = {};
  const { logger, lines } = memoryLogger();

  before(async () => {
    server = createAgiServer({
      host: '127.0.0.1',
      port: 0,
      routes,
      logger,
      maxSessions: 50,
      timeouts: { headerMs: 300, commandMs: 300, sessionMs: 1500, closeGraceMs: 100 },
    });
    port = (await server.listen()).port;
    assert.ok(port > 0, 'port 0 gives a real port');
  });
  after(() => server.close({ drainMs: 100 }));

  async function settle<T>(p: Promise<T>): Promise<T | Error> {
    return p.catch((e: Error) => e);
  }

  it('maps 510, 511 and a delayed, split 520 block to typed errors, and HANGUP to an event', async () => {
    const probe = loadSession('probe');
    const usage = probe.exchanges!.find((e) => e.send === 'GET VARIABLE\n')!.recv_chunks;
    let hangups = 0;
    routes['t1'] = async (s) => {
      s.onHangup(() => hangups++);
      seen.results = [
        await settle(s.command(['CHANNEL', 'STATUS'])),
        await settle(s.command(['NOT', 'A', 'REAL', 'COMMAND'])),
        await settle(s.command(['GET', 'VARIABLE'])),
        await s.getVariable('FAXERROR'),
        await s.getVariable('REMOTESTATIONID'),
        await s.getVariable('CALLERID(name)'),
        s.hungUp,
      ];
    };
    const peer = new Peer(port);
    peer.write(HEADER('t1'));
    await peer.until('CHANNEL STATUS\n');
    peer.write('511 Command Not Permitted on a dead channel or intercept routine\n');
    await peer.until('NOT A REAL COMMAND\n');
    peer.write('HANGUP\n510 Invalid or unknown command\n'); // HANGUP glued to the reply
    await peer.until('GET VARIABLE\n');
    peer.write(usage[0]!);
    await sleep(40);
    peer.write(usage[1]!);
    await peer.until('GET VARIABLE FAXERROR\n');
    peer.write('200 result=0\n');
    await peer.until('REMOTESTATIONID\n');
    peer.write('200 result=1 ()\n');
    await peer.until('CALLERID(name)\n');
    peer.write('200 result=1 (ACME: Sales & Müller (100% = ok))\n');
    await peer.closed;
    const [e511, e510, e520, unset, empty, name, hungUp] = seen.results;
    assert.ok(e511 instanceof AgiDeadChannelError);
    assert.ok(e510 instanceof AgiInvalidCommandError);
    assert.ok(e520 instanceof AgiUsageError);
    assert.match((e520 as AgiUsageError).usage, /Returns <literal>0<\/literal>/);
    assert.equal(unset, undefined);
    assert.equal(empty, '');
    assert.equal(name, 'ACME: Sales & Müller (100% = ok)');
    assert.equal(hungUp, true);
    assert.equal(hangups, 1);
  });

  it('100 Trying is not the answer; the 200 after it is', async () => {
    routes['t2'] = async (s) => {
      seen.results = [await s.command(['GOSUB', 'ctx', 's', '1'])];
    };
    const peer = new Peer(port);
    peer.write(HEADER('t2'));
    await peer.until('GOSUB ctx s 1\n');
    peer.write('100 result=0 Trying...\n');
    await sleep(20);
    peer.write('200 result=0 Gosub complete\n');
    await peer.closed;
    assert.equal((seen.results[0] as { result: string }).result, '0');
  });

  it('keeps strict FIFO: one command in flight, every reply to its own command', async () => {
    const n = 200;
    routes['fifo'] = async (s) => {
      seen.results = await Promise.all(Array.from({ length: n }, (_, i) => s.getVariable(`V${i}`)));
    };
    const peer = new Peer(port);
    peer.write(HEADER('fifo'));
    let answered = 0;
    while (answered < n) {
      const text = await peer.until(`GET VARIABLE V${answered}\n`);
      // Only one command may be outstanding at any time.
      assert.ok(!text.includes(`GET VARIABLE V${answered + 1}\n`), 'second command sent before the first reply');
      peer.write(`200 result=1 (value ${answered})\n`);
      answered++;
    }
    await peer.closed;
    assert.deepEqual(seen.results, Array.from({ length: n }, (_, i) => `value ${i}`));
  });

  it('EOF and reset mid-command reject everything pending, and the server stays up', async () => {
    for (const how of ['end', 'reset'] as const) {
      routes['eof'] = async (s) => {
        seen.results = await Promise.all([settle(s.getVariable('A')), settle(s.getVariable('B'))]);
      };
      const peer = new Peer(port);
      peer.write(HEADER('eof'));
      await peer.until('GET VARIABLE A\n');
      if (how === 'end') peer.socket.end();
      else peer.socket.resetAndDestroy();
      await peer.closed;
      await sleep(50);
      assert.ok(seen.results.every((r) => r instanceof AgiClosedError), how);
    }
    assert.ok(server.address(), 'still listening');
  });

  it('a silent peer meets the header, command and session deadlines', async () => {
    const before = server.stats().timeouts;
    const silent = new Peer(port); // sends nothing
    await silent.closed;
    routes['slow'] = async (s) => {
      seen.results = [await settle(s.getVariable('X'))];
    };
    const mute = new Peer(port);
    mute.write(HEADER('slow'));
    await mute.closed;
    assert.ok(seen.results[0] instanceof AgiTimeoutError);
    routes['stuck'] = () => new Promise(() => {}); // a route that never finishes
    const held = new Peer(port);
    held.write(HEADER('stuck'));
    await held.closed;
    assert.equal(server.stats().timeouts - before, 3);
  });

  it('an over-long line closes the session with a protocol error', async () => {
    const before = server.stats().errors;
    const peer = new Peer(port);
    peer.write('agi_network: yes\nagi_x: ');
    for (let i = 0; i < 80 && !peer.socket.destroyed; i++) peer.write('x'.repeat(1024));
    await peer.closed;
    assert.equal(server.stats().errors - before, 1);
    assert.ok(lines.some((l) => l.msg === 'agi.connection_refused'), 'said, at most once a minute');
  });

  it('a header of endless short lines is cut at its cap, and a flood of such connections is logged once', async () => {
    const before = server.stats().errors;
    const said = lines.filter((l) => l.msg === 'agi.connection_refused').length;
    for (let n = 0; n < 20; n++) {
      const peer = new Peer(port);
      for (let i = 0; i < 300 && !peer.socket.destroyed; i++) peer.write(`agi_junk_${i}: ${'y'.repeat(40)}\n`);
      await peer.closed;
    }
    assert.equal(server.stats().errors - before, 20, 'every one closed as a protocol error');
    assert.ok(lines.filter((l) => l.msg === 'agi.connection_refused').length - said <= 1, 'not one warning per connection');
  });

  it('unknown route: VERBOSE then FAILURE; a throwing route is logged and the socket released', async () => {
    const peer = new Peer(port);
    peer.write(HEADER('no/such/script'));
    await peer.until('VERBOSE');
    peer.write('200 result=1\n');
    await peer.until('FAILURE\n');
    await peer.closed;
    assert.ok(peer.received.startsWith('VERBOSE "faxbridge: no AGI script named no/such/script" 1\n'));

    routes['boom'] = async () => {
      throw new Error('handler bug');
    };
    const p2 = new Peer(port);
    p2.write(HEADER('boom'));
    await p2.closed;
    assert.ok(lines.some((l) => l.msg === 'agi.session_error' && String(l['err']).includes('handler bug')));
  });

  it('ignores the final HANGUP Asterisk writes after our half-close', async () => {
    routes['bye'] = async (s) => {
      await s.setVariable('FAXBRIDGE_ACK', '1');
    };
    const peer = new Peer(port);
    peer.write(HEADER('bye'));
    await peer.until('SET VARIABLE FAXBRIDGE_ACK 1\n');
    peer.write('200 result=1\n');
    await new Promise<void>((r) => peer.socket.once('end', () => r()));
    peer.write('HANGUP\n'); // as in success-3p-sighup
    peer.socket.end();
    await peer.closed;
    assert.ok(peer.ended, 'server sent FIN (end), not RST');
  });
});

describe('AGI server shutdown', () => {

  it('over maxSessions: FAILURE at once; the sessions in progress are unaffected', async () => {
    const { logger } = memoryLogger();
    const capped = createAgiServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      maxSessions: 3,
      routes: { hold: async (s) => void (await s.getVariable('HOLD')) },
    });
    const { port } = await capped.listen();
    const held = [new Peer(port), new Peer(port), new Peer(port)];
    for (const p of held) p.write(HEADER('hold'));
    await Promise.all(held.map((p) => p.until('GET VARIABLE HOLD\n')));
    const extra = new Peer(port);
    await extra.until('FAILURE\n');
    await extra.closed;
    for (const p of held) p.write('200 result=1 (ok)\n');
    await Promise.all(held.map((p) => p.closed));
    assert.equal(capped.stats().rejected, 1);
    assert.equal(capped.stats().sessions, 3);
    await capped.close();
  });
  it('drains a running session, then refuses new connections', async () => {
    const { logger } = memoryLogger();
    let finished = false;
    const server = createAgiServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      routes: {
        slow: async (s) => {
          await sleep(150);
          await s.setVariable('DONE', '1');
          finished = true;
        },
      },
    });
    const { port } = await server.listen();
    const peer = new Peer(port);
    peer.write(HEADER('slow'));
    await sleep(30);
    const closing = server.close({ drainMs: 2000 });
    await peer.until('SET VARIABLE DONE 1\n');
    peer.write('200 result=1\n');
    await closing;
    assert.ok(finished);
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject)),
      /ECONNREFUSED/,
    );
  });
});

