import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startChildDaemon } from '../helpers/child-daemon.js';
import { tempDir } from '../helpers/daemon.js';
import { ASTERISK } from '../helpers/fixtures.js';

describe('faxbridge CLI', () => {
  it('--help explains every command', async () => {
    for (const cmd of [[], ['serve'], ['simulate'], ['outbox'], ['inbox']]) {
      const r = await runCli([...cmd, '--help']);
      assert.equal(r.code, 0, cmd.join(' '));
      assert.match(r.stdout, /faxbridge/);
    }
    const serve = await runCli(['serve', '--help']);
    for (const flag of ['--public-url', '--forward-url', '--target-kind', '--agi-listen', '--http-listen', '--data-dir', '--spool-dir', '--target', '--config', '--log-level', 'ASTERISK_INBOUND_SECRET']) {
      assert.ok(serve.stdout.includes(flag), flag);
    }
  });

  it('bad usage exits 2 and names the problem', async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['serve', '--agi-listen', 'nonsense'], {}, /--agi-listen must be HOST:PORT/],
      [['serve', '--bogus-flag'], {}, /Unknown option: --bogus-flag\n/],
      [['launch'], {}, /Unknown command/],
      [['serve', '--log-level', 'loud'], {}, /--log-level must be one of/],
      [['serve', '--target', 'ftp://x'], {}, /--target must be http or https/],
      [['serve', '--data-dir', '/tmp/x'], { ASTERISK_INBOUND_SECRET_FILE: '/nonexistent/secret' }, /cannot read ASTERISK_INBOUND_SECRET_FILE \/nonexistent\/secret: ENOENT/],
      [['serve', '--data-dir', '/tmp/x'], { FAXBRIDGE_WEBHOOK_SECRET: 'whsec_short' }, /FAXBRIDGE_WEBHOOK_SECRET/],
      [['serve', '--retry-schedule', '5 fortnights'], {}, /--retry-schedule/],
    ];
    for (const [args, env, message] of cases) {
      const r = await runCli(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace for a usage error');
    }
  });

  it('takes options from FAXBRIDGE_* and from --config, flags first', async () => {
    const root = await tempDir();
    const config = path.join(root, 'faxbridge.json');
    await writeFile(config, JSON.stringify({ 'spool-dir': path.join(root, 'from-file'), 'data-dir': path.join(root, 'data') }));
    const d = await startChildDaemon(['--config', config], { FAXBRIDGE_LOG_LEVEL: 'info' });
    try {
      const listening = d.lines.find((l) => l['msg'] === 'listening')!;
      assert.equal(listening['spool_dir'], path.join(root, 'from-file'));
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
  });

  it('simulate against a running daemon: ack, then the fax in `inbox list`', async () => {
    const root = await tempDir();
    const spool = path.join(root, 'spool');
    const data = path.join(root, 'data');
    await mkdir(spool);
    const d = await startChildDaemon(['--spool-dir', spool, '--data-dir', data]);
    try {
      const tiff = path.join(root, 'in.tiff');
      await copyFile(path.join(ASTERISK, 'tiffs', 'success-3p.tiff'), tiff);
      const sim = await runCli(['simulate', '--agi', `127.0.0.1:${d.agiPort}`, '--spool-dir', spool, '--tiff', tiff, '--uniqueid', '1795790000.1']);
      assert.equal(sim.code, 0, sim.stderr);
      assert.match(sim.stdout, /FAXBRIDGE_ACK=1/);
      let list = '';
      for (let i = 0; i < 50 && !list.includes('1795790000') && !list.includes('received'); i++) {
        list = (await runCli(['inbox', 'list', '--data-dir', data])).stdout;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(list, /asterisk\treceived\t3\t\*+0000\t\*+0000\ttiff/);
      const json = await runCli(['inbox', 'list', '--json', '--data-dir', data]);
      assert.equal(JSON.parse(json.stdout.trim().split('\n')[0]!).provider_id, '1795790000.1');
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
    const down = await runCli(['simulate', '--agi', `127.0.0.1:${d.agiPort}`, '--spool-dir', spool]);
    assert.equal(down.code, 1, 'no daemon: exit 1');
    assert.match(down.stderr, /ECONNREFUSED/);
  });

  it('a port in use is a clear error', async () => {
    const root = await tempDir();
    const d = await startChildDaemon(['--data-dir', path.join(root, 'a'), '--spool-dir', root]);
    try {
      const r = await runCli(['serve', '--data-dir', path.join(root, 'b'), '--spool-dir', root, '--agi-listen', `127.0.0.1:${d.agiPort}`, '--http-listen', '127.0.0.1:0']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+ \(--agi-listen\): the port is already in use/);
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
  });
});
