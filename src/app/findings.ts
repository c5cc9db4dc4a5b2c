/**
 * What is worth saying about a configuration, said once for both `serve` (as log lines) and
 * `check` (as ok / PROBLEM lines). Pure: a config in, findings out.
 */
import { isLoopbackHost, type Config } from '../config/config.js';

export interface Finding {
  /** `ok` and `info` are normal states; a `warning` works but deserves a look; a `problem` is wrong. */
  severity: 'ok' | 'info' | 'warning' | 'problem';
  /** The stable log `msg` (serve). */
  event: string;
  /** The sentence for a person (check, and the log line's `hint`). */
  text: string;
}

export function configFindings(config: Config): Finding[] {
  const s = config.secrets;
  const out: Finding[] = [];
  const say = (severity: Finding['severity'], event: string, text: string) => out.push({ severity, event, text });

  // On this host the probe (check) or the first delivery tells; another host needs the same secret on both sides.
  if (config.target && !isLoopbackHost(new URL(config.target).hostname) && !s.ASTERISK_INBOUND_SECRET.length) {
    say('problem', 'config.internal_secret_generated_for_remote_target', 'ASTERISK_INBOUND_SECRET is not set, but --target is another host: set it to the secret the target expects');
  }
  if (s.PHAXIO_API_SECRET.length) say('ok', 'config.phaxio_seed', 'phaxio: seed scheme (X-Phaxio-Signature, HMAC-SHA256) configured');
  if (s.PHAXIO_CALLBACK_TOKEN.length) {
    if (config.publicUrl) say('ok', 'config.phaxio_real', `phaxio: real scheme (HMAC-SHA1 over ${config.publicUrl}) configured`);
    else say('problem', 'config.phaxio_public_url_missing', 'PHAXIO_CALLBACK_TOKEN is set but --public-url is not: real Phaxio signatures cannot be checked');
  }
  if (!s.PHAXIO_API_SECRET.length && !s.PHAXIO_CALLBACK_TOKEN.length) {
    say('info', 'config.phaxio_routes_refusing', 'phaxio: not configured (/phaxio-* answer 401; set PHAXIO_CALLBACK_TOKEN and --public-url to use Phaxio)');
  }
  if (s.SINCH_INBOUND_BASIC_USER.length && !s.SINCH_INBOUND_BASIC_PASS.length) {
    say('problem', 'config.sinch_basic_pass_missing', 'SINCH_INBOUND_BASIC_USER is set without SINCH_INBOUND_BASIC_PASS');
  } else if (s.SINCH_INBOUND_BASIC_USER.length || s.SINCH_INBOUND_HMAC_SECRET.length) {
    say('ok', 'config.sinch', 'sinch: configured');
  } else if (config.sinchAllowUnauthenticated) {
    say('warning', 'config.sinch_route_open', 'sinch: OPEN to anyone (--sinch-allow-unauthenticated)');
  } else {
    say('info', 'config.sinch_route_refusing', 'sinch: not configured (/sinch-inbound answers 401; set SINCH_INBOUND_BASIC_USER and SINCH_INBOUND_BASIC_PASS to use Sinch)');
  }
  if (!isLoopbackHost(config.httpListen.host) && !s.FAXBRIDGE_METRICS_TOKEN.length) {
    say('warning', 'config.metrics_open', `--http-listen ${config.httpListen.host} is not loopback and GET /metrics is open: set FAXBRIDGE_METRICS_TOKEN`);
  }
  if (config.targetKind === 'faxbot' && /test/i.test(config.dataDir)) {
    say('warning', 'config.faxbot_copy_path_contains_test', `--data-dir ${config.dataDir} contains "test": Faxbot refuses documents whose path does`);
  }
  return out;
}

