/** What serve logs and check prints about a configuration, from the config alone. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFindings } from '../../src/app/findings.js';
import { resolveConfig } from '../../src/config/config.js';

const findings = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => configFindings(resolveConfig(flags, env));
const problems = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => findings(flags, env).filter((f) => f.severity === 'problem').map((f) => f.event);

describe('configuration findings', () => {
  it('a target on another host without ASTERISK_INBOUND_SECRET is a problem; on this host the probe decides', () => {
    assert.deepEqual(problems({ target: 'https://faxbot.example.com' }), ['config.internal_secret_generated_for_remote_target']);
    assert.deepEqual(problems({ target: 'https://faxbot.example.com' }, { ASTERISK_INBOUND_SECRET: 's' }), []);
    assert.deepEqual(problems({ target: 'http://127.0.0.1:8080' }), []);
  });

  it('unconfigured provider routes are a normal state (info), each naming what to set', () => {
    const f = findings({});
    for (const event of ['config.phaxio_routes_refusing', 'config.sinch_route_refusing']) {
      const finding = f.find((x) => x.event === event)!;
      assert.equal(finding.severity, 'info');
      assert.match(finding.text, /set [A-Z_]+/);
    }
  });

  it('half-configured providers are problems', () => {
    assert.deepEqual(problems({}, { PHAXIO_CALLBACK_TOKEN: 't', SINCH_INBOUND_BASIC_USER: 'u' }).sort(), ['config.phaxio_public_url_missing', 'config.sinch_basic_pass_missing']);
  });

  it('an HTTP port open beyond this machine with /metrics unprotected is a warning; a token silences it', () => {
    const warns = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => findings(flags, env).filter((f) => f.event === 'config.metrics_open').length;
    assert.equal(warns({ httpListen: '0.0.0.0:8080' }), 1);
    assert.equal(warns({ httpListen: '0.0.0.0:8080' }, { FAXBRIDGE_METRICS_TOKEN: 't' }), 0);
    assert.equal(warns({ httpListen: '127.0.0.1:8080' }), 0);
    assert.equal(warns({ httpListen: '[::1]:8080' }), 0);
  });
});

