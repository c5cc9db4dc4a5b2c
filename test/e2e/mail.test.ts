/**
 * Fax to email against a real SMTP server (smtp-server with STARTTLS and AUTH), read back with
 * mailparser: routing, content, the attachment as the API serves it, and every bad day.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startChildDaemon } from '../helpers/child-daemon.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { queryAll } from '../helpers/db.js';
import { replaySession } from '../helpers/fake-asterisk.js';
import { sendFax } from '../helpers/fax.js';
import { startFixtureDaemon, sendFixture } from '../helpers/fixture-daemon.js';
import { ASTERISK, loadHttpFixture, loadSession, withSpool } from '../helpers/fixtures.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

const USER = 'fax';
const PASSWORD = 'smtp-secret-value';
const FAST = '0,100,200,200,200,200,200,200';

function mailOptions(sink: SmtpSink, routes: string[]) {
  return {
    raw: { mailRoute: routes, smtpUrl: sink.url, smtpCaFile: sink.caFile, smtpRequireTls: true, mailFrom: 'fax@example.com', retrySchedule: FAST },
    env: { FAXBRIDGE_SMTP_USER: USER, FAXBRIDGE_SMTP_PASSWORD: PASSWORD, FAXBRIDGE_API_KEY: 'mail-test-key' },
  };
}

async function pdfOf(d: TestDaemon, id: string): Promise<Buffer> {
  const res = await request(`${d.httpUrl}/inbound/${id}/pdf`, { headers: { authorization: 'Bearer mail-test-key' } });
  assert.equal(res.statusCode, 200);
  return Buffer.from(await res.body.arrayBuffer());
}

function pdfPages(bytes: Buffer, dir: string): number {
  const file = path.join(dir, `attachment-${Date.now()}.pdf`);
  writeFileSync(file, bytes);
  return Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }))![1]);
}

const mailRows = (d: TestDaemon) => queryAll<{ state: string; attempts: number; last_status: number | null; last_response: string | null; target: string }>(d.dataDir, "SELECT * FROM outbox WHERE target LIKE 'mail:%' ORDER BY id");

describe('fax to email', () => {
  it('the recorded Asterisk fax reaches exactly its routed recipients, over STARTTLS with AUTH, with the PDF the API serves', async () => {
    const sink = await startSmtpSink({ user: USER, password: PASSWORD });
    const session = loadSession('success-3p');
    const did = session.variables!['FAXBRIDGE_TO']!;
    const d = await startTestDaemon(mailOptions(sink, [`${did}=a@example.com,b@example.com`, `${did.slice(0, 7)}*=desk@example.com`, '1666*=other@example.com']));
    try {
      await copyFile(path.join(ASTERISK, session.tiff!), withSpool(session.faxfile, d.spoolDir));
      const r = await replaySession(d.agiPort, session, d.spoolDir);
      assert.equal(r.mismatch, null);
      await eventually(() => sink.received.length === 1, 'the email');
      const mail = sink.received[0]!;
      assert.deepEqual(mail.envelopeTo.sort(), ['a@example.com', 'b@example.com'], 'the exact route wins over the prefix');
      assert.ok(mail.secure, 'STARTTLS was used');
      assert.equal(mail.user, USER, 'AUTH with the configured user');
      const p = mail.parsed;
      assert.equal(p.subject, `Fax from ${session.variables!['CALLERID(name)']} — 3 pages`);
      assert.equal(p.from?.value[0]?.address, 'fax@example.com');
      for (const expected of [session.variables!['CALLERID(num)']!, did, 'Pages:', '3', 'received']) assert.ok(p.text!.includes(expected), expected);
      assert.ok(String(p.html).includes(did));
      const id = queryAll<{ id: string }>(d.dataDir, 'SELECT id FROM inbox')[0]!.id;
      assert.ok(p.text!.includes(id), 'the inbox id is in the body');
      assert.match(p.messageId!, new RegExp(`^<fax-${id}\\.[0-9a-f]{8}@`));
      assert.equal(p.attachments.length, 1);
      const att = p.attachments[0]!;
      assert.equal(att.contentType, 'application/pdf');
      assert.match(att.filename!, /^fax-\d{4}-\d{2}-\d{2}-\d{4}-from-\d+\.pdf$/);
      assert.ok(att.content.equals(await pdfOf(d, id)), 'the attachment is byte for byte GET /inbound/:id/pdf');
      assert.equal(pdfPages(att.content, d.dataDir), 3);

      // The prefix catches the rest of the block; a number no route matches gets nothing, and the log says so.
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990000.1', { tiff: 'success-1p-name.tiff' })).acked);
      await eventually(() => sink.received.length === 2, 'the prefix route');
      assert.deepEqual(sink.received[1]!.envelopeTo, ['desk@example.com']);
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990000.2', { tiff: 'success-1p-name.tiff', variables: { FAXBRIDGE_TO: '17770001111' } })).acked);
      await eventually(() => d.lines.some((l) => l.msg === 'mail.unrouted'), 'mail.unrouted');
      assert.equal(mailRows(d).length, 2, 'nothing queued for the unrouted fax');
      const unrouted = d.lines.find((l) => l.msg === 'mail.unrouted')!;
      assert.equal(unrouted['to'], '*******1111', 'numbers are masked in the log');
      assert.ok(!d.raw.some((l) => l.includes(PASSWORD)), 'the SMTP password is never logged');

      // The same fax again (AGI replay, then its marker) sends no second email.
      assert.equal((await replaySession(d.agiPort, session, d.spoolDir)).mismatch, null);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(sink.received.length, 2);
    } finally {
      await d.stop();
      await sink.close();
    }
  });

  it('* catches every fax; a failed partial fax is mailed with its page and the error; a fax with no page says so', async () => {
    const sink = await startSmtpSink({ user: USER, password: PASSWORD });
    const d = await startTestDaemon(mailOptions(sink, ['*=all@example.com']));
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990001.1', { tiff: 'failed-partial.tiff', status: 'FAILED', variables: { FAXBRIDGE_TO: '17770001111', FAXPAGES: '1' } })).acked);
      await eventually(() => sink.received.length === 1, 'the failed fax');
      const partial = sink.received[0]!.parsed;
      assert.match(partial.subject!, /^Failed fax from Fax Sender — 1 page$/);
      assert.ok(partial.text!.includes('The call dropped prematurely'), partial.text);
      assert.equal(partial.attachments.length, 1);
      assert.equal(pdfPages(partial.attachments[0]!.content, d.dataDir), 1);

      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990001.2', { status: 'FAILED', variables: { FAXPAGES: '0' } })).acked);
      await eventually(() => sink.received.length === 2, 'the fax with no page');
      const none = sink.received[1]!.parsed;
      assert.equal(none.attachments.length, 0);
      assert.match(none.text!, /No page arrived/);
    } finally {
      await d.stop();
      await sink.close();
    }
  });

  it('451 twice, then accepted: one email; 550: dead with the reply kept, and `outbox retry` sends it once accepted; a drop mid-DATA is retried', async () => {
    const sink = await startSmtpSink({ user: USER, password: PASSWORD });
    const d = await startTestDaemon(mailOptions(sink, ['*=desk@example.com']));
    try {
      let n = 0;
      sink.state.answer = () => (++n <= 2 ? [451, 'Try again later'] : 'accept');
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990002.1', { tiff: 'success-1p-name.tiff' })).acked);
      await eventually(() => sink.received.length === 1, 'accepted on the third try');
      await eventually(() => mailRows(d)[0]?.state === 'delivered', 'marked sent');
      assert.equal(mailRows(d)[0]!.attempts, 3);
      assert.equal(sink.received.length, 1);

      sink.state.answer = () => [550, 'Mailbox unavailable'];
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990002.2', { tiff: 'success-1p-name.tiff' })).acked);
      await eventually(() => mailRows(d)[1]?.state === 'dead', 'dead at once');
      assert.equal(mailRows(d)[1]!.attempts, 1);
      assert.equal(mailRows(d)[1]!.last_status, 550);
      assert.match(mailRows(d)[1]!.last_response!, /550 Mailbox unavailable/);
      sink.state.answer = () => 'accept';
      const retried = await runCli(['outbox', 'retry', '--dead', '--data-dir', d.dataDir]);
      assert.equal(retried.code, 0, retried.stderr);
      await eventually(() => sink.received.length === 2, 'resent after outbox retry', 6000);

      let drops = 0;
      sink.state.answer = () => (drops++ === 0 ? 'drop' : 'accept');
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990002.3', { tiff: 'success-1p-name.tiff' })).acked);
      await eventually(() => sink.received.length === 3, 'arrives after the dropped connection', 8000);
      assert.ok(mailRows(d)[2]!.attempts >= 2);
    } finally {
      await d.stop();
      await sink.close();
    }
  });

  it('wrong SMTP credentials: check says so, the mail stays pending, and the log says so loudly', async () => {
    const sink = await startSmtpSink({ user: USER, password: PASSWORD });
    const opts = mailOptions(sink, ['*=desk@example.com']);
    const d = await startTestDaemon({ ...opts, env: { ...opts.env, FAXBRIDGE_SMTP_PASSWORD: 'wrong' } });
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795990003.1', { tiff: 'success-1p-name.tiff' })).acked);
      await eventually(() => d.lines.some((l) => l.msg === 'mail.target_config_error' && l.level === 'error'), 'a loud log line');
      assert.equal(mailRows(d)[0]!.state, 'pending');
      assert.equal(sink.received.length, 0);
      const check = await runCli(
        ['check', '--data-dir', d.dataDir, '--spool-dir', d.spoolDir, '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--smtp-url', sink.url, '--smtp-ca-file', sink.caFile, '--mail-route', '*=desk@example.com'],
        { FAXBRIDGE_SMTP_USER: USER, FAXBRIDGE_SMTP_PASSWORD: 'wrong' },
      );
      assert.equal(check.code, 1);
      assert.match(check.stderr, /PROBLEM: SMTP smtp:\/\/localhost:\d+.*refused our credentials/);
      assert.match(check.stdout, /mail route \* -> desk@example\.com/);
      assert.doesNotMatch(check.stdout + check.stderr, /wrong/);
      const good = await runCli(['check', '--data-dir', d.dataDir, '--spool-dir', d.spoolDir, '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--smtp-url', sink.url, '--smtp-ca-file', sink.caFile, '--smtp-require-tls', '--mail-route', '*=desk@example.com'], { FAXBRIDGE_SMTP_USER: USER, FAXBRIDGE_SMTP_PASSWORD: PASSWORD });
      assert.match(good.stdout, /ok: SMTP .* accepts us \(EHLO, STARTTLS \(required\), AUTH\)/, good.stdout + good.stderr);
      const test = await runCli(['mail', 'test', '--to', 'me@example.com', '--data-dir', d.dataDir, '--smtp-url', sink.url, '--smtp-ca-file', sink.caFile], { FAXBRIDGE_SMTP_USER: USER, FAXBRIDGE_SMTP_PASSWORD: PASSWORD });
      assert.equal(test.code, 0, test.stderr);
      assert.match(test.stdout, /sent to me@example\.com .*250/);
      await eventually(() => sink.received.some((m) => m.envelopeTo.includes('me@example.com')), 'the test mail');
    } finally {
      await d.stop();
      await sink.close();
    }
  });

  it('kill -9 right after the ack, then a restart: the email arrives, with the same Message-ID every time', async () => {
    const sink = await startSmtpSink({ user: USER, password: PASSWORD });
    const root = await tempDir();
    const spool = path.join(root, 'spool');
    await mkdir(spool);
    const args = ['--spool-dir', spool, '--data-dir', path.join(root, 'data'), '--mail-route', '*=desk@example.com', '--smtp-url', sink.url, '--smtp-ca-file', sink.caFile, '--retry-schedule', FAST];
    const env = { FAXBRIDGE_SMTP_USER: USER, FAXBRIDGE_SMTP_PASSWORD: PASSWORD };
    sink.state.answer = () => [451, 'not yet'];
    const first = await startChildDaemon(args, env);
    assert.ok((await sendFax(first.agiPort, spool, '1795990004.1', { tiff: 'success-3p.tiff' })).acked);
    first.child.kill('SIGKILL');
    await first.exited;
    sink.state.answer = () => 'accept';
    const second = await startChildDaemon(args, env);
    try {
      await eventually(() => sink.received.length >= 1, 'the email after the restart', 8000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sink.received.length, 1, 'exactly once');
      assert.ok(sink.state.attempts >= 1);
      assert.match(sink.received[0]!.parsed.messageId!, /^<fax-[0-9a-f]{32}\.[0-9a-f]{8}@/);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
      await sink.close();
    }
  });

  it('Phaxio and Sinch faxes are mailed the same way, with their PDF', async () => {
    const sink = await startSmtpSink({ user: USER, password: PASSWORD });
    try {
      for (const name of ['phaxio-received-multipart', 'sinch-incoming-fax-multipart']) {
        const fixture = loadHttpFixture(name);
        const opts = mailOptions(sink, ['*=desk@example.com']);
        const d = await startFixtureDaemon(fixture, { raw: opts.raw, env: opts.env });
        try {
          const before = sink.received.length;
          assert.equal((await sendFixture(d, fixture)).status, 200);
          await eventually(() => sink.received.length === before + 1, `${name} mailed`);
          const p = sink.received.at(-1)!.parsed;
          assert.match(p.subject!, /^Fax from .+ — \d+ pages?$/);
          assert.equal(p.attachments[0]?.contentType, 'application/pdf', name);
          const [row] = queryAll<{ id: string }>(d.dataDir, 'SELECT id FROM inbox');
          const res = await request(`${d.httpUrl}/inbound/${row!.id}/pdf`, { headers: { authorization: 'Bearer mail-test-key' } });
          assert.ok(p.attachments[0]!.content.equals(Buffer.from(await res.body.arrayBuffer())), `${name}: the attachment is the stored PDF`);
        } finally {
          await d.stop();
        }
      }
    } finally {
      await sink.close();
    }
  });

  it('bad routes and addresses are configuration errors that name them', async () => {
    for (const [route, message] of [
      ['15559870000', /must be PATTERN=ADDR/],
      ['15a*=x@example.com', /pattern "15a\*" must be digits/],
      ['*=not-an-address', /"not-an-address" is not an email address/],
    ] as const) {
      const r = await runCli(['check', '--mail-route', route, '--smtp-url', 'smtp://localhost:1'], {});
      assert.equal(r.code, 2, route);
      assert.match(r.stderr, message);
    }
    const noSmtp = await runCli(['check', '--mail-route', '*=a@example.com'], {});
    assert.match(noSmtp.stderr, /--mail-route is set but --smtp-url is not/);
  });
});
