import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startChildDaemon } from '../helpers/child-daemon.js';
import { tempDir } from '../helpers/daemon.js';
import { ASTERISK, FIXTURES } from '../helpers/fixtures.js';

const ROOT = path.resolve(FIXTURES, '..', '..');

/** A real daemon on fresh data and spool dirs under one temp root. */
async function daemonInTempDirs() {
  const root = await tempDir();
  const spool = path.join(root, 'spool');
  const data = path.join(root, 'data');
  await mkdir(spool);
  return { root, spool, data, d: await startChildDaemon(['--spool-dir', spool, '--data-dir', data]) };
}

describe('faxbridge CLI', () => {
  it('--help explains every command', async () => {
    for (const cmd of [[], ['serve'], ['simulate'], ['outbox'], ['inbox'], ['jobs']]) {
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

  it('simulate against a running daemon: learns its spool, stores the fax with its document, then `inbox list` shows it in full', async () => {
    const { root, spool, data, d } = await daemonInTempDirs();
    const at = ['--agi', `127.0.0.1:${d.agiPort}`, '--http', `127.0.0.1:${d.httpPort}`, '--data-dir', data];
    try {
      const tiff = path.join(root, 'in.tiff');
      await copyFile(path.join(ASTERISK, 'tiffs', 'success-3p.tiff'), tiff);
      // No --spool-dir: simulate asks the daemon where its spool is.
      const sim = await runCli(['simulate', ...at, '--tiff', tiff, '--uniqueid', '1795790000.1']);
      assert.equal(sim.code, 0, sim.stderr);
      assert.match(sim.stdout, /stored as [0-9a-f]{32}, 3 page\(s\), document kept \(tiff, \d+ bytes\)/);
      assert.deepEqual(await readdir(spool), [], 'the smoke test leaves the spool as it found it');

      const sample = await runCli(['simulate', ...at]);
      assert.equal(sample.code, 0, sample.stderr);
      assert.match(sample.stdout, /1 page\(s\), document kept/, 'the shipped sample fax');

      const list = await runCli(['inbox', 'list', '--data-dir', data]);
      assert.match(list.stdout, /received\s+3\s+15551230000\s+faxbridge simulate\s+15551230000\s+15559870000\s+tiff/, list.stdout);
      const json = await runCli(['inbox', 'list', '--json', '--data-dir', data]);
      assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l).provider_id).sort()[0], '1795790000.1');

      const third = await runCli(['simulate', ...at, '--tiff', tiff, '--uniqueid', '1795790000.2']);
      assert.equal(third.code, 0, third.stderr);
      const one = await runCli(['inbox', 'list', '--limit', '1', '--data-dir', data]);
      assert.match(one.stdout, /showing 1 of 3; next page: --cursor/);
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
    const down = await runCli(['simulate', ...at]);
    assert.equal(down.code, 1, 'no daemon: exit 1');
    assert.match(down.stderr, /no faxbridge answers on 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Start it/);
    assert.deepEqual(await readdir(spool), [], 'and nothing left in the spool');
  });

  it('simulate says so when the daemon stored the fax without its document', async () => {
    const { root, spool, data, d } = await daemonInTempDirs();
    try {
      const notTiff = path.join(root, 'not-a-fax.tiff');
      await writeFile(notTiff, '%PDF-1.4 this is not a TIFF');
      const r = await runCli(['simulate', '--agi', `127.0.0.1:${d.agiPort}`, '--http', `127.0.0.1:${d.httpPort}`, '--data-dir', data, '--tiff', notTiff, '--pages', '1']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /WITHOUT its document: refused: not a TIFF/);
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
  });

  it('every command accepts the whole systemd/faxbridge.env and one shared config file; typos are named', async () => {
    const { root, spool, data, d } = await daemonInTempDirs();
    try {
      // Every line of the shipped env file, commented or not, as a sysadmin who fills it in has it.
      const env: Record<string, string> = {};
      for (const line of (await readFile(path.join(ROOT, 'systemd', 'faxbridge.env'), 'utf8')).split('\n')) {
        const m = /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
        if (m) env[m[1]!] = m[2]!;
      }
      assert.ok(Object.keys(env).length >= 10, Object.keys(env).join(' '));
      for (const key of Object.keys(env).filter((k) => k.endsWith('_FILE'))) {
        const file = path.join(root, key);
        await writeFile(file, `value-of-${key}\n`);
        env[key] = file;
      }
      Object.assign(env, {
        FAXBRIDGE_DATA_DIR: data, // the unit's Environment=
        FAXBRIDGE_SPOOL_DIR: spool,
        FAXBRIDGE_AGI_LISTEN: `127.0.0.1:${d.agiPort}`,
        FAXBRIDGE_HTTP_LISTEN: `127.0.0.1:${d.httpPort}`,
        // check probes the target: only ever this machine in a test.
        FAXBRIDGE_TARGET: `http://127.0.0.1:${d.httpPort}`,
      });
      const config = path.join(root, 'faxbridge.json');
      await writeFile(
        config,
        JSON.stringify({ 'data-dir': data, spoolDir: spool, httpListen: `127.0.0.1:${d.httpPort}`, target: `http://127.0.0.1:${d.httpPort}`, retentionDays: 30, maxSessions: 100, forwardUrl: ['https://hooks.example.com/fax'], logLevel: 'info' }),
      );
      const commands = [['inbox', 'list'], ['outbox', 'list'], ['jobs', 'list'], ['check']];
      for (const cmd of commands) {
        for (const [how, args, vars] of [['env file', [], env], ['config file', ['--config', config], {}], ['both', ['--config', config], env]] as const) {
          const r = await runCli([...cmd, ...args], vars);
          assert.notEqual(r.code, 2, `${cmd.join(' ')} with the ${how}: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, /Unknown option|warning/, `${cmd.join(' ')} with the ${how}`);
        }
      }
      const typo = await runCli(['inbox', 'list'], { FAXBRIDGE_DATA_DIR: data, FAXBRIDGE_SPOOL_DRI: '/x' });
      assert.equal(typo.code, 0, typo.stderr);
      assert.match(typo.stderr, /warning: FAXBRIDGE_SPOOL_DRI is not a faxbridge setting and is ignored \(did you mean FAXBRIDGE_SPOOL_DIR\?\)/);
      await writeFile(config, JSON.stringify({ dataDir: data, retentionDyas: 3 }));
      const fileTypo = await runCli(['inbox', 'list', '--config', config], {});
      assert.equal(fileTypo.code, 0, fileTypo.stderr);
      assert.match(fileTypo.stderr, /"retentionDyas" in .* is not a faxbridge setting and is ignored \(did you mean "retentionDays"\?\)/);
      const flagTypo = await runCli(['inbox', 'list', '--spool-dri', '/x'], { FAXBRIDGE_DATA_DIR: data });
      assert.equal(flagTypo.code, 2);
      assert.match(flagTypo.stderr, /Unknown option: --spool-dri \(did you mean --spool-dir\?\)/);
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
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
