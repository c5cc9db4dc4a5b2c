/** What a sysadmin relies on: rotation, retention, metrics, `check`, the unit, and SIGTERM. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { runCli } from '../helpers/cli.js';
import { startChildDaemon } from '../helpers/child-daemon.js';
import { eventually, startTestDaemon, tempDir } from '../helpers/daemon.js';
import { queryOne } from '../helpers/db.js';
import { sendFax } from '../helpers/fax.js';
import { startHttpSink } from '../helpers/http-sink.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function postInternal(url: string, secret: string, uniqueid: string): Promise<number> {
  const body = JSON.stringify({ tiff_path: null, to_number: '1', from_number: '2', faxstatus: 'FAILED', faxpages: 0, uniqueid });
  const res = await request(`${url}/_internal/asterisk/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-internal-secret': secret },
    body,
  });
  await res.body.dump();
  return res.statusCode;
}

describe('secret rotation without a restart', () => {
  it('a new secret in the file is accepted at once, the old one until the grace period ends, and the value is never logged', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'internal-secret');
    await writeFile(file, 'old-secret-value\n');
    const d = await startTestDaemon({ env: { ASTERISK_INBOUND_SECRET_FILE: file }, raw: { secretGrace: '1500ms' } });
    try {
      assert.equal(await postInternal(d.httpUrl, 'old-secret-value', '1795850000.1'), 200);
      await writeFile(file, 'new-secret-value\n');
      await eventually(() => d.lines.some((l) => l.msg === 'secret.reloaded'), 'reload logged');
      assert.equal(await postInternal(d.httpUrl, 'new-secret-value', '1795850000.2'), 200, 'new accepted at once');
      assert.equal(await postInternal(d.httpUrl, 'old-secret-value', '1795850000.3'), 200, 'old still accepted in the grace period');
      await eventually(async () => (await postInternal(d.httpUrl, 'old-secret-value', '1795850000.4')) === 401, 'old refused after the grace period', 5000);
      assert.equal(await postInternal(d.httpUrl, 'new-secret-value', '1795850000.5'), 200);
      assert.ok(!d.raw.some((l) => l.includes('old-secret-value') || l.includes('new-secret-value')), 'no secret in any log line');
      const reload = d.lines.find((l) => l.msg === 'secret.reloaded')!;
      assert.equal(reload['name'], 'ASTERISK_INBOUND_SECRET');
      assert.equal(reload['file'], file);

      await writeFile(file, '');
      await eventually(() => d.lines.some((l) => l.msg === 'secret.reload_failed'), 'an empty file is refused');
      assert.equal(await postInternal(d.httpUrl, 'new-secret-value', '1795850000.6'), 200, 'and the current value stays');
    } finally {
      await d.stop();
    }
  });
});

describe('retention', () => {
  it('removes documents past --retention-days and keeps the record, marked purged', async () => {
    let clock = new Date();
    const d = await startTestDaemon({ raw: { retentionDays: 30 }, env: { FAXBRIDGE_API_KEY: 'k' }, overrides: { now: () => clock } });
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795860000.1', { tiff: 'success-1p-name.tiff' })).acked);
      const row = await eventually(() => queryOne<{ id: string; document_path: string }>(d.dataDir, 'SELECT id, document_path FROM inbox'), 'fax stored');
      clock = new Date(Date.now() + 29 * 86_400_000);
      await d.daemon.purgeExpired();
      assert.ok(existsSync(row.document_path), 'kept at 29 days');
      clock = new Date(Date.now() + 31 * 86_400_000);
      await d.daemon.purgeExpired();
      assert.ok(!existsSync(row.document_path), 'removed at 31 days');
      const res = await request(`${d.httpUrl}/inbound/${row.id}`, { headers: { 'x-api-key': 'k' } });
      const view = (await res.body.json()) as { document: { purged: boolean }; provider_id: string };
      assert.equal(view.provider_id, '1795860000.1', 'the record stays');
      assert.equal(view.document.purged, true);
      const pdf = await request(`${d.httpUrl}/inbound/${row.id}/pdf`, { headers: { 'x-api-key': 'k' } });
      assert.equal(pdf.statusCode, 404);
      assert.match(((await pdf.body.json()) as { detail: string }).detail, /purged by retention/);
      assert.ok(d.lines.some((l) => l.msg === 'retention.purged' && l['purged'] === 1));
    } finally {
      await d.stop();
    }
  });
});

describe('metrics', () => {
  it('GET /metrics has sessions, latency, commits, deliveries, outbox depth, requests by route and auth failures', async () => {
    const target = await startHttpSink();
    const d = await startTestDaemon({ raw: { target: `${target.url}/_internal/asterisk/inbound` }, env: { ASTERISK_INBOUND_SECRET: 'metrics-secret' } });
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1795870000.1', { tiff: 'success-1p-name.tiff' })).acked);
      assert.equal(await postInternal(d.httpUrl, 'wrong', '1795870000.2'), 401);
      assert.equal(await postInternal(d.httpUrl, 'metrics-secret', '1795870000.3'), 200);
      const text = await eventually(async () => {
        const t = await (await request(`${d.httpUrl}/metrics`)).body.text();
        return t.includes('faxbridge_deliveries_total{outcome="delivered"} 1') ? t : undefined;
      }, 'delivery counted');
      for (const expected of [
        'faxbridge_agi_sessions_total{outcome="acked"} 1',
        'faxbridge_agi_session_duration_seconds_count 1',
        'faxbridge_agi_ack_failures_total 0',
        'faxbridge_outbox_pending 0',
        'faxbridge_outbox_dead 0',
        'faxbridge_outbox_oldest_pending_age_seconds 0',
        'faxbridge_webhook_requests_total{route="/_internal/asterisk/inbound",status="200"} 1',
        'faxbridge_webhook_requests_total{route="/_internal/asterisk/inbound",status="401"} 1',
        'faxbridge_signature_failures_total{route="/_internal/asterisk/inbound"} 1',
        'faxbridge_commit_batch_size_count 2',
      ]) {
        assert.ok(text.includes(expected), expected);
      }
    } finally {
      await d.stop();
      await target.close();
    }
  });
});

describe('metrics behind a token', () => {
  it('with FAXBRIDGE_METRICS_TOKEN, GET /metrics needs it', async () => {
    const d = await startTestDaemon({ env: { FAXBRIDGE_METRICS_TOKEN: 'scrape-token' } });
    try {
      const open = await request(`${d.httpUrl}/metrics`);
      assert.equal(open.statusCode, 401);
      await open.body.dump();
      const ok = await request(`${d.httpUrl}/metrics`, { headers: { authorization: 'Bearer scrape-token' } });
      assert.equal(ok.statusCode, 200);
      assert.match(await ok.body.text(), /faxbridge_agi_sessions_total/);
    } finally {
      await d.stop();
    }
  });
});

describe('faxbridge check', () => {
  it('a good configuration, with the running daemon as the probed target: exit 0, secrets masked', async () => {
    const root = await tempDir();
    const spool = path.join(root, 'spool');
    await mkdir(spool);
    const env = { ASTERISK_INBOUND_SECRET: 'check-secret-value', FAXBRIDGE_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
    const d = await startChildDaemon(['--data-dir', path.join(root, 'data'), '--spool-dir', spool], env);
    try {
      const r = await runCli(
        ['check', '--data-dir', path.join(root, 'data'), '--spool-dir', spool, '--agi-listen', `127.0.0.1:${d.agiPort}`, '--http-listen', `127.0.0.1:${d.httpPort}`],
        env,
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ok: target http:\/\/127\.0\.0\.1:\d+\/_internal\/asterisk\/inbound accepts our secret and signature/);
      assert.match(r.stdout, /ASTERISK_INBOUND_SECRET\s+\*\*\*\* \(environment\)/);
      assert.match(r.stdout, /in use by a running faxbridge/);
      assert.ok(!r.stdout.includes('check-secret-value') && !r.stdout.includes('MfKQ9r8G'), 'secrets are masked');
      assert.match(r.stdout, /no problems found/);
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
  });

  it('before the first start under the unit: its credentials are used and its state dir is expected, not a problem', async () => {
    const root = await tempDir();
    const spool = path.join(root, 'spool');
    await mkdir(spool);
    const creds = path.join(root, 'credentials');
    await mkdir(creds);
    await writeFile(path.join(creds, 'ASTERISK_INBOUND_SECRET'), 'unit-secret\n');
    await writeFile(path.join(creds, 'FAXBRIDGE_API_KEY'), 'unit-api-key\n');
    const unit = path.join(root, 'faxbridge.service');
    const text = (await readFile(path.join(ROOT, 'systemd', 'faxbridge.service'), 'utf8')).replaceAll('/etc/faxbridge/credentials/', `${creds}/`);
    await writeFile(unit, text);
    const dataDir = '/var/lib/faxbridge-check-test-never-created';
    const r = await runCli(['check', '--unit', unit, '--data-dir', dataDir, '--spool-dir', spool, '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], {});
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('PROBLEM: '));
    // The shipped unit names /var/lib/faxbridge; this one is the same unit with another StateDirectory.
    assert.ok(problems.some((p) => /FAXBRIDGE_WEBHOOK_SECRET from .*: cannot read/.test(p)), `a missing credential source is named: ${r.stderr}`);
    assert.match(r.stdout, /ASTERISK_INBOUND_SECRET\s+\*\*\*\* \(systemd credential, file .*credentials\/ASTERISK_INBOUND_SECRET\)/);
    assert.doesNotMatch(r.stdout, /unit-secret|unit-api-key/, 'secrets are masked');

    await writeFile(path.join(creds, 'FAXBRIDGE_WEBHOOK_SECRET'), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n');
    await writeFile(unit, text.replace('StateDirectory=faxbridge', 'StateDirectory=faxbridge-check-test-never-created'));
    const ok = await runCli(['check', '--unit', unit, '--data-dir', dataDir, '--spool-dir', spool, '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], {});
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /data dir \/var\/lib\/faxbridge-check-test-never-created will be created by systemd at the first start/);
    assert.match(ok.stdout, /FAXBRIDGE_API_KEY\s+\*\*\*\* \(systemd credential, file .*credentials\/FAXBRIDGE_API_KEY\)/);

    // Under the unit itself, the credentials directory is where the secrets are.
    const under = await runCli(['check', '--unit', path.join(root, 'none.service'), '--data-dir', path.join(root, 'data'), '--spool-dir', spool, '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], { CREDENTIALS_DIRECTORY: creds });
    assert.match(under.stdout, /ASTERISK_INBOUND_SECRET\s+\*\*\*\* \(file .*credentials\/ASTERISK_INBOUND_SECRET\)/);
    assert.match(under.stderr, /cannot read the unit file/);
  });

  it('broken configurations: one line per problem, exit 1', async () => {
    const root = await tempDir();
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as AddressInfo).port;
    const refusing = http.createServer((_req, res) => res.writeHead(401).end('{"detail":"Invalid internal secret"}'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    try {
      const r = await runCli(
        [
          'check',
          '--data-dir', path.join(root, 'data'),
          '--spool-dir', path.join(root, 'no-such-spool'),
          '--agi-listen', `127.0.0.1:${busyPort}`,
          '--http-listen', '127.0.0.1:0',
          '--target', refusingUrl,
        ],
        { PHAXIO_CALLBACK_TOKEN: 'tok', SINCH_INBOUND_BASIC_USER: 'u' },
      );
      assert.equal(r.code, 1);
      const problems = r.stderr.split('\n').filter((l) => l.startsWith('PROBLEM: '));
      const expected = [
        /spool dir .*no-such-spool does not exist/,
        new RegExp(`--agi-listen 127\\.0\\.0\\.1:${busyPort}: the port is in use`),
        /refused our credentials \(401\)/,
        /PHAXIO_CALLBACK_TOKEN is set but --public-url is not/,
        /SINCH_INBOUND_BASIC_USER is set without SINCH_INBOUND_BASIC_PASS/,
      ];
      for (const e of expected) assert.ok(problems.some((p) => e.test(p)), `${e}\n${r.stderr}`);
      assert.equal(problems.length, expected.length, r.stderr);
      assert.match(r.stdout, /5 problem\(s\)/);

      const unreachable = await runCli(['check', '--data-dir', path.join(root, 'd2'), '--spool-dir', root, '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--target', 'http://127.0.0.1:1/'], {
        ASTERISK_INBOUND_SECRET: 's',
      });
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, /PROBLEM: target http:\/\/127\.0\.0\.1:1\/_internal\/asterisk\/inbound is unreachable: ECONNREFUSED/);
    } finally {
      busy.close();
      refusing.close();
    }
  });
});

describe('systemd unit', () => {
  const unit = path.join(ROOT, 'systemd', 'faxbridge.service');
  const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

  it('passes systemd-analyze verify', { skip: !hasAnalyze && 'systemd-analyze is not installed' }, () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  });

  it('scores under 2.0 in systemd-analyze security', { skip: !hasAnalyze && 'systemd-analyze is not installed' }, () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for faxbridge\.service: ([\d.]+)/.exec(out)![1]);
    assert.ok(score < 2.0, `exposure ${score}`);
  });

  it('asks for what the issue lists', async () => {
    const text = await readFile(unit, 'utf8');
    for (const line of [
      'Restart=on-failure',
      'User=faxbridge',
      'SupplementaryGroups=asterisk',
      'StateDirectory=faxbridge',
      'EnvironmentFile=-/etc/faxbridge/faxbridge.env',
      'LoadCredential=ASTERISK_INBOUND_SECRET:',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'ReadWritePaths=-/var/spool/asterisk/fax',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    ]) {
      assert.ok(text.includes(line), line);
    }
  });
});

describe('SIGTERM', () => {
  it('stops accepting AGI at once, leaves a hung delivery pending, and exits well within TimeoutStopSec', async () => {
    const root = await tempDir();
    const spool = path.join(root, 'spool');
    await mkdir(spool);
    const hung = http.createServer(() => {}); // never answers
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/x`;
    const d = await startChildDaemon(['--data-dir', path.join(root, 'data'), '--spool-dir', spool, '--target', target], { ASTERISK_INBOUND_SECRET: 's' });
    try {
      assert.ok((await sendFax(d.agiPort, spool, '1795880000.1', { tiff: 'success-1p-name.tiff' })).acked);
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      d.child.kill('SIGTERM');
      await eventually(
        () => new Promise<boolean>((resolve) => net.connect(d.agiPort, '127.0.0.1').on('error', () => resolve(true)).on('connect', function (this: net.Socket) {
          this.destroy();
          resolve(false);
        })),
        'AGI port closed',
      );
      assert.equal(await d.exited, 0);
      // The contract is the unit's: systemd kills the daemon after TimeoutStopSec.
      const unit = await readFile(path.join(ROOT, 'systemd', 'faxbridge.service'), 'utf8');
      const stopSec = Number(/^TimeoutStopSec=(\d+)s$/m.exec(unit)![1]);
      const took = Date.now() - started;
      assert.ok(took < stopSec * 1000, `exited after ${took} ms; TimeoutStopSec=${stopSec}s`);
      assert.equal(queryOne<{ state: string }>(path.join(root, 'data'), 'SELECT state FROM outbox')!.state, 'pending', 'the delivery stays queued');
      assert.ok(d.lines.some((l) => l['msg'] === 'shutdown.done'));
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });
});
