import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AgiProtocolError } from '../../src/agi/errors.js';
import {
  buildHeader,
  createLineReader,
  createResponseParser,
  formatCommand,
  parseArgs,
  parseHeaderLine,
  parseReply,
  quote,
  quoteIfNeeded,
  type ResponseEvent,
} from '../../src/agi/protocol.js';
import { loadSession, sessionIndex } from '../helpers/fixtures.js';

function linesOf(chunks: Buffer[], max?: number): string[] {
  const reader = createLineReader(max);
  return chunks.flatMap((c) => reader.push(c));
}

describe('line reader', () => {
  it('gives the same lines for every split of every recorded session', () => {
    for (const { scenario } of sessionIndex()) {
      const s = loadSession(scenario);
      if (!s.connected || !s.exchanges) continue;
      const stream = Buffer.from(s.header_chunks.join('') + s.exchanges.flatMap((e) => e.recv_chunks).join(''));
      const whole = linesOf([stream]);
      for (let cut = 1; cut < stream.length; cut++) {
        assert.deepEqual(linesOf([stream.subarray(0, cut), stream.subarray(cut)]), whole, `${scenario} cut at ${cut}`);
      }
    }
  });

  it('survives one byte at a time, and tolerates \\r\\n', () => {
    const bytes = Buffer.from('200 result=1 (a)\r\nHANGUP\n200 result=0\n');
    const out = linesOf([...bytes].map((b) => Buffer.from([b])));
    assert.deepEqual(out, ['200 result=1 (a)', 'HANGUP', '200 result=0']);
  });

  it('replaces invalid UTF-8 instead of throwing, even when a character is split across reads', () => {
    const mueller = Buffer.from('agi_calleridname: Müller\n');
    const split = mueller.indexOf(0xc3) + 1; // between the two bytes of ü
    assert.deepEqual(linesOf([mueller.subarray(0, split), mueller.subarray(split)]), ['agi_calleridname: Müller']);
    assert.deepEqual(linesOf([Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a])]), ['a\uFFFD\uFFFDb']);
  });

  it('caps a line: a long one without newline is a protocol error, and memory stays bounded', () => {
    const reader = createLineReader(1024);
    reader.push(Buffer.alloc(1000, 0x61));
    assert.throws(() => reader.push(Buffer.alloc(100, 0x61)), AgiProtocolError);
    assert.throws(() => linesOf([Buffer.from(`${'x'.repeat(2000)}\n`)], 1024), AgiProtocolError);
  });
});

describe('header', () => {
  it('splits at the first colon only, keeps values verbatim', () => {
    assert.deepEqual(parseHeaderLine('agi_request: agi://127.0.0.1:4573/fax/received'), ['agi_request', 'agi://127.0.0.1:4573/fax/received']);
    assert.deepEqual(parseHeaderLine('agi_calleridname: ACME: Sales'), ['agi_calleridname', 'ACME: Sales']);
    assert.deepEqual(parseHeaderLine('agi_accountcode: '), ['agi_accountcode', '']);
    assert.deepEqual(parseHeaderLine('agi_arg_1:  two spaces'), ['agi_arg_1', ' two spaces']);
    assert.throws(() => parseHeaderLine('no colon here'), AgiProtocolError);
  });

  it('exposes script, query and args; the query stays out of the route', () => {
    const h = buildHeader(['agi_network_script: fax-inbound?x=y', 'agi_arg_1: SUCCESS', 'agi_arg_2: http://a:b@c', 'agi_uniqueid: 1.2']);
    assert.equal(h.script, 'fax-inbound');
    assert.equal(h.query, 'x=y');
    assert.deepEqual(h.args, ['SUCCESS', 'http://a:b@c']);
    assert.ok(Object.isFrozen(h.env));
  });

  it('parses every recorded header exactly as the recorder did', () => {
    for (const { scenario } of sessionIndex()) {
      const s = loadSession(scenario);
      if (!s.connected || !s.header_chunks.length) continue;
      const lines = linesOf(s.header_chunks.map((c) => Buffer.from(c)));
      const h = buildHeader(lines.slice(0, lines.indexOf('')));
      assert.deepEqual({ ...h.env }, s.header, scenario);
      assert.equal(h.args[0], s.call.uniqueid);
    }
  });
});

describe('responses', () => {
  function feed(lines: string[]): ResponseEvent[] {
    const p = createResponseParser();
    return lines.map((l) => p.push(l)).filter((e) => e.kind !== 'incomplete');
  }

  it('tells unset from empty, and keeps parentheses inside the value', () => {
    assert.deepEqual(parseReply('200 result=0'), { code: 200, result: '0', extras: {} });
    assert.deepEqual(parseReply('200 result=1 ()'), { code: 200, result: '1', data: '', extras: {} });
    assert.equal(parseReply('200 result=1 (ACME: Sales & Müller (100% = ok))').data, 'ACME: Sales & Müller (100% = ok)');
    assert.equal(parseReply('200 result=1 (+1 555 123 0001)').data, '+1 555 123 0001');
    assert.deepEqual(parseReply('200 result=-1 (hangup) endpos=12345'), { code: 200, result: '-1', data: 'hangup', extras: { endpos: '12345' } });
    assert.deepEqual(parseReply('200 result=0 endpos=12'), { code: 200, result: '0', extras: { endpos: '12' } });
  });

  it('HANGUP is an event, 100 keeps waiting, 510/511 are errors', () => {
    assert.deepEqual(
      feed(['HANGUP', '100 result=0 Trying...', '200 result=0 Gosub complete', '510 Invalid or unknown command', '511 Command Not Permitted on a dead channel or intercept routine']).map((e) => e.kind),
      ['hangup', 'trying', 'reply', 'invalid-command', 'dead-channel'],
    );
  });

  it('reads the recorded 520 block to its end, free-text lines included', () => {
    const probe = loadSession('probe');
    const block = probe.exchanges!.find((e) => e.send === 'GET VARIABLE\n')!;
    const lines = linesOf(block.recv_chunks.map((c) => Buffer.from(c)));
    assert.equal(lines.length, 4);
    const events = feed(lines);
    assert.equal(events.length, 1);
    const ev = events[0]!;
    assert.equal(ev.kind, 'usage');
    assert.ok(ev.kind === 'usage' && ev.usage.includes('Example return code: 200 result=1 (testvariable)'));
  });

  it('a line of no known form is a protocol error', () => {
    assert.throws(() => feed(['hello world']), AgiProtocolError);
    assert.throws(() => feed(['200 result=1 (unterminated']), AgiProtocolError);
  });
});

describe('quoting', () => {
  const sendable = fc.string({ unit: 'binary', maxLength: 200 }).filter((s) => !/[\n\r\0]/.test(s));

  it('quote() round-trips through the parse_args port', () => {
    fc.assert(
      fc.property(sendable, (s) => {
        assert.deepEqual(parseArgs(`SET VARIABLE X ${quote(s)}`), ['SET', 'VARIABLE', 'X', s]);
      }),
      { numRuns: 2000 },
    );
  });

  it('quoteIfNeeded() round-trips too, and leaves plain words bare', () => {
    fc.assert(
      fc.property(sendable, (s) => {
        assert.deepEqual(parseArgs(`SET VARIABLE X ${quoteIfNeeded(s)}`), ['SET', 'VARIABLE', 'X', s]);
      }),
      { numRuns: 2000 },
    );
    assert.equal(formatCommand(['GET', 'VARIABLE', 'CALLERID(num)']), 'GET VARIABLE CALLERID(num)');
    assert.equal(formatCommand(['SET', 'VARIABLE', 'FAXBRIDGE_PROBE', 'a b:c']), 'SET VARIABLE FAXBRIDGE_PROBE "a b:c"');
  });

  it('the parse_args port matches Asterisk on the documented corner cases', () => {
    assert.deepEqual(parseArgs('a ""'), ['a', '']);
    assert.deepEqual(parseArgs('ab"c d"'), ['abc d']);
    assert.deepEqual(parseArgs('\\"x \\\\ \\n'), ['"x', '\\', 'n']);
    assert.deepEqual(parseArgs('a\\ b'), ['a b']);
    assert.deepEqual(parseArgs('"open quote runs'), ['open quote runs']);
    assert.deepEqual(parseArgs('x \\'), ['x']);
    assert.deepEqual(parseArgs('a\t b'), ['a', 'b']);
  });

  it('refuses LF, CR and NUL, over-long lines and too many words', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\0b']) assert.throws(() => quote(bad), RangeError);
    assert.throws(() => formatCommand(['VERBOSE', 'x'.repeat(8200)]), RangeError);
    assert.throws(() => formatCommand(['VERBOSE', 'é'.repeat(4095)]), RangeError, 'counts UTF-8 bytes');
    assert.doesNotThrow(() => formatCommand(['VERBOSE', 'x'.repeat(8180)]));
    assert.throws(() => formatCommand(Array.from({ length: 101 }, () => 'w')), RangeError);
  });
});
