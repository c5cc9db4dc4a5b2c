/**
 * Options several commands share, declared once. Settings carry no yargs default: argv holds
 * only what was typed, and config.ts fills the rest from FAXBRIDGE_*, the config file and the
 * defaults, in that order (`defaultDescription` only shows the default in --help).
 */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../config/config.js';

export function commonOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'JSON file with any of the settings (flags and FAXBRIDGE_* variables override it) [env: FAXBRIDGE_CONFIG]' })
    .option('data-dir', {
      type: 'string',
      describe: `Where the database, documents and generated secrets live [default: $STATE_DIRECTORY or ${DEFAULTS.dataDir}]`,
    })
    .option('spool-dir', { type: 'string', describe: 'Asterisk fax spool; TIFFs are accepted only from inside it', defaultDescription: String(DEFAULTS.spoolDir) })
    .option('log-level', { type: 'string', describe: 'fatal, error, warn, info, debug, trace or silent', defaultDescription: String(DEFAULTS.logLevel) });
}

export function serveOptions<T>(y: Argv<T>) {
  return commonOptions(y)
    .option('agi-listen', { type: 'string', describe: 'FastAGI address HOST:PORT (port 0: any free port)', defaultDescription: String(DEFAULTS.agiListen) })
    .option('http-listen', { type: 'string', describe: 'HTTP receiver address HOST:PORT', defaultDescription: String(DEFAULTS.httpListen) })
    .option('target', {
      type: 'string',
      describe: "Deliver Asterisk faxes to this URL (a Faxbot API or another faxbridge) [default: straight into this daemon's own inbox]",
    })
    .option('max-sessions', {
      type: 'number',
      describe: 'Concurrent AGI sessions; more are answered FAILURE (flood protection: a real box never reaches it)',
      defaultDescription: String(DEFAULTS.maxSessions),
    })
    .option('retry-schedule', { type: 'string', describe: 'Delays before each delivery attempt, then dead-letter', defaultDescription: String(DEFAULTS.retrySchedule) })
    .option('target-kind', { choices: ['faxbridge', 'faxbot'], describe: 'faxbot: deliver a path to a PDF copy (Faxbot cannot read TIFF)', defaultDescription: 'faxbridge' })
    .option('public-url', { type: 'string', describe: 'The public base URL given to Phaxio (real Phaxio signs it); never taken from Host' })
    .option('file-url-hosts', { type: 'string', describe: 'Hosts a seed-shaped file_url may be fetched from (https only)', defaultDescription: String(DEFAULTS.fileUrlHosts) })
    .option('forward-url', { type: 'string', array: true, describe: 'Forward every inbox event, signed, to this URL (repeatable)' })
    .option('sinch-allow-unauthenticated', { type: 'boolean', describe: 'Accept /sinch-inbound with no credential configured (not recommended)', defaultDescription: 'false' })
    .option('max-body-mb', { type: 'number', describe: 'Body limit of the provider routes, in MiB (413 above it)', defaultDescription: String(DEFAULTS.maxBodyMb) })
    .option('secret-grace', { type: 'string', describe: 'How long a secret replaced in its file stays accepted', defaultDescription: String(DEFAULTS.secretGrace) })
    .option('edge-name', { type: 'string', describe: "This Asterisk host's name in every fax's key: set it when several Asterisk hosts without `systemname` deliver to one faxbridge" })
    .option('web-listen', { type: 'string', describe: 'Also serve the web inbox, and only it, on HOST:PORT (e.g. 0.0.0.0:8081 for the office LAN); it is always at / on --http-listen' })
    .option('trust-proxy', { type: 'boolean', describe: 'Believe X-Forwarded-Proto/-For from a reverse proxy (Secure cookies over its https)', defaultDescription: 'false' })
    .option('mail-route', {
      type: 'string',
      array: true,
      describe: 'Email faxes to a number: PATTERN=ADDR[,ADDR...], PATTERN digits (exact), digits* (prefix) or * (all); longest wins; repeatable [env: FAXBRIDGE_MAIL_ROUTE, ";" between routes]',
    })
    .option('smtp-url', { type: 'string', describe: 'SMTP server for fax email: smtp://host:port (STARTTLS when offered) or smtps://host:465; user and password: FAXBRIDGE_SMTP_USER, FAXBRIDGE_SMTP_PASSWORD' })
    .option('smtp-require-tls', { type: 'boolean', describe: 'Refuse to send mail in clear text', defaultDescription: 'true, unless the SMTP host is loopback' })
    .option('smtp-ca-file', { type: 'string', describe: "PEM file of the CA that signed the SMTP server's certificate (a relay with a private CA)" })
    .option('mail-from', { type: 'string', describe: 'From address of fax emails', defaultDescription: 'faxbridge@<hostname>' })
    .option('mail-failed', { type: 'boolean', describe: 'Email failed receptions too (the pages that arrived, and why it failed)', defaultDescription: 'true' })
    .option('retention-days', { type: 'number', describe: 'Remove documents older than this (records stay, marked purged); 0 keeps them', defaultDescription: String(DEFAULTS.retentionDays) });
}
