/** The shipped dialplan and the daemon's code must agree; this is the contract between them. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ACK_VARIABLE, AGI_SCRIPT } from '../../src/asterisk/fax-received.js';
import { FAX_VARIABLES, TO_VARIABLE } from '../../src/asterisk/read-fax.js';
import { MARKER_FIELDS, MARKER_SUFFIX, parseMarker } from '../../src/asterisk/marker.js';
import { DEFAULTS } from '../../src/config/config.js';
import { ASTERISK } from '../helpers/fixtures.js';

const CONF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'asterisk-conf');
const dialplan = readFileSync(path.join(CONF, 'extensions_faxbridge.conf'), 'utf8');
/** Lines without comments, as Asterisk's config parser sees them. */
const lines = dialplan.split('\n').map((l) => l.replace(/\s*;.*$/, '').trim()).filter(Boolean);

function context(name: string): string[] {
  const start = lines.indexOf(`[${name}]`);
  assert.ok(start >= 0, `context [${name}] exists`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('['));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

function global(name: string): string {
  const g = context('globals').find((l) => l.startsWith(`${name} =`) || l.startsWith(`${name}=`));
  assert.ok(g, `global ${name}`);
  return g.slice(g.indexOf('=') + 1).trim();
}

describe('asterisk-conf/extensions_faxbridge.conf', () => {
  const post = context('faxbridge-post');

  it('calls the daemon at its default address and script, with ${UNIQUEID} as the only argument', () => {
    const agi = post.map((l) => /AGI\((agi:\/\/[^,)]+)(?:,(.*))?\)/.exec(l)).find(Boolean);
    assert.ok(agi, 'an AGI() call');
    const url = new URL(agi[1]!);
    assert.equal(`${url.hostname}:${url.port}`, DEFAULTS.agiListen);
    assert.equal(url.pathname.slice(1), AGI_SCRIPT);
    assert.equal(agi[2], '${UNIQUEID}');
    const sighup = post.findIndex((l) => l.includes('Set(AGISIGHUP=no)'));
    assert.ok(sighup >= 0 && sighup < post.findIndex((l) => l.includes('AGI(')), 'AGISIGHUP=no before AGI()');
  });

  it('treats only AGISTATUS=SUCCESS with the ack variable = 1 as acknowledged', () => {
    const gotoIf = post.find((l) => l.includes('GotoIf('))!;
    assert.ok(gotoIf.includes(`"\${AGISTATUS}" = "SUCCESS"`));
    assert.ok(gotoIf.includes(`"\${${ACK_VARIABLE}}" = "1"`));
  });

  it('writes the marker at ${FAXFILE}.pending with exactly the fields the daemon parses, in order', () => {
    const file = post.find((l) => l.includes('Set(FILE('))!;
    const m = /Set\(FILE\(\$\{FAXFILE\}([^)]*)\)=(.*)\)$/.exec(file)!;
    assert.equal(m[1], MARKER_SUFFIX);
    const pairs = m[2]!.split('&').map((p) => p.split('=') as [string, string]);
    assert.deepEqual(
      pairs.map(([k]) => k),
      MARKER_FIELDS.map(([k]) => k),
    );
    for (const [i, [, value]] of pairs.entries()) assert.equal(value, `\${URIENCODE(\${${MARKER_FIELDS[i]![1]}})}`);
  });

  it('produces the markers recorded from a real Asterisk, byte for byte', () => {
    const template = post.find((l) => l.includes('Set(FILE('))!.replace(/^.*?\)=/, '').replace(/\)$/, '');
    const markers = readdirSync(path.join(ASTERISK, 'markers'));
    assert.equal(markers.length, 9);
    for (const name of markers) {
      const real = readFileSync(path.join(ASTERISK, 'markers', name));
      const fields = parseMarker(real)!;
      assert.ok(fields, name);
      const byVariable = Object.fromEntries(MARKER_FIELDS.map(([k, v]) => [v, fields[k]]));
      const rendered = template.replace(/\$\{URIENCODE\(\$\{([^}]+)\}\)\}/g, (_, v: string) => encodeURIComponent(byVariable[v] ?? ''));
      assert.equal(rendered, real.toString('utf8'), name);
    }
  });

  it('sets what the daemon reads: the DID in the to-variable, FAXFILE under the spool, the CSI through FAXOPT', () => {
    for (const ctx of ['faxbridge-inbound', 'faxbridge-shared-line']) {
      assert.ok(context(ctx).some((l) => l.includes(`Set(${TO_VARIABLE}=\${EXTEN})`)), ctx);
    }
    const receive = context('faxbridge-receive');
    assert.ok(receive.some((l) => l.includes('Set(FAXFILE=${FAXBRIDGE_SPOOL}/${UNIQUEID}.tiff)')));
    assert.equal(global('FAXBRIDGE_SPOOL'), DEFAULTS.spoolDir);
    assert.ok(receive.some((l) => l.includes('Set(FAXOPT(localstationid)=')));
    assert.ok(receive.some((l) => /ReceiveFAX\(\$\{FAXFILE\},[a-z]*f[a-z]*\)/.test(l)), 'ReceiveFAX with the f option');
    const push = receive.findIndex((l) => l.includes('hangup_handler_push)=faxbridge-post,s,1'));
    assert.ok(push >= 0 && push < receive.findIndex((l) => l.includes('Answer()')), 'handler pushed before Answer');
    // Every variable the daemon reads is one ReceiveFAX or the channel provides, or one set here.
    const setHere = [TO_VARIABLE, 'FAXFILE'];
    const fromAsterisk = ['FAXSTATUS', 'FAXERROR', 'FAXPAGES', 'FAXBITRATE', 'FAXRESOLUTION', 'FAXMODE', 'REMOTESTATIONID', 'LOCALSTATIONID', 'CALLERID(num)', 'CALLERID(name)', 'FAXSTATUSSTRING'];
    for (const v of FAX_VARIABLES) assert.ok(setHere.includes(v) || fromAsterisk.includes(v), v);
  });

  it('never hands caller-controlled text to a shell', () => {
    assert.ok(!/\b(System|TrySystem)\(|SHELL\(/.test(lines.join('\n')));
    assert.ok(!/\bh,1\b|exten => h,/.test(lines.join('\n')), 'no h extension next to the hangup handler');
  });

  it('the T.38 and fax configs use keys Asterisk knows', () => {
    const udptl = readFileSync(path.join(CONF, 'udptl.conf'), 'utf8');
    const keys = udptl.split('\n').map((l) => l.replace(/;.*$/, '').trim()).filter((l) => l.includes('=')).map((l) => l.split('=')[0]!.trim());
    for (const k of keys) assert.ok(['udptlstart', 'udptlend', 'udptlchecksums', 'udptlfecentries', 'udptlfecspan', 'use_even_ports'].includes(k), k);
    const pjsip = readFileSync(path.join(CONF, 'pjsip_faxbridge.conf'), 'utf8');
    for (const k of ['t38_udptl=yes', 't38_udptl_ec=redundancy', 't38_udptl_maxdatagram=', 'allow=ulaw,alaw']) assert.ok(pjsip.includes(k), k);
  });
});
