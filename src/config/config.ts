/**
 * One typed Config from flags, `FAXBRIDGE_*` environment and the `--config` file (yargs merges
 * those, flags first), plus secrets from the seed's variable names, each also as `*_FILE`.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_SESSIONS } from '../agi/server.js';
import { parseDuration } from './duration.js';
import { isAddress, MailRouteError, parseRouteSpec, type MailRoute } from '../mail/routes.js';
import { gatherSettings, SettingError, type Settings } from './sources.js';
import { parseSchedule } from '../outbox/retry-policy.js';
import { DEFAULT_FILE_URL_HOSTS } from '../documents/file-url.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** The secrets faxbridge reads, by their environment names (the seed's, where it has one). */
export const SECRET_NAMES = [
  'ASTERISK_INBOUND_SECRET',
  'FAXBRIDGE_WEBHOOK_SECRET',
  'FAXBRIDGE_API_KEY',
  'PHAXIO_API_SECRET',
  'PHAXIO_CALLBACK_TOKEN',
  'SINCH_INBOUND_BASIC_USER',
  'SINCH_INBOUND_BASIC_PASS',
  'SINCH_INBOUND_HMAC_SECRET',
  'FAXBRIDGE_SMTP_USER',
  'FAXBRIDGE_SMTP_PASSWORD',
  'FAXBRIDGE_METRICS_TOKEN',
] as const;

export type SecretName = (typeof SECRET_NAMES)[number];

/** One configured value; `file` when it came from a file, which is then watched for rotation. */
export interface SecretSlot {
  value: string;
  file?: string;
}

/** Per name: the current slot, then `NAME_PREVIOUS` (accepted during a rotation). Empty: not set. */
export type Secrets = Record<SecretName, SecretSlot[]>;

export type TargetKind = 'faxbridge' | 'faxbot';

export interface Config {
  agiListen: ListenAddress;
  httpListen: ListenAddress;
  dataDir: string;
  spoolDir: string;
  /** Delivery target; undefined means this daemon's own receiver. */
  target: string | undefined;
  /** `faxbot`: deliver a path to a PDF copy that Faxbot may keep or delete (reference/faxbot.md §8). */
  targetKind: TargetKind;
  /** The public base URL providers were given (real Phaxio signs it). */
  publicUrl: string | undefined;
  fileUrlHosts: string[];
  /** Every inbox event is forwarded, signed, to each of these. */
  forwardUrls: string[];
  sinchAllowUnauthenticated: boolean;
  /** Body limit of the provider routes. */
  maxBodyBytes: number;
  /** How long a secret replaced in its file stays accepted. */
  secretGraceMs: number;
  /** Documents older than this many days are removed (their records stay); 0 keeps them for ever. */
  retentionDays: number;
  logLevel: string;
  maxSessions: number;
  retrySchedule: number[];
  secrets: Secrets;
  /** Names this Asterisk edge in the key of every fax it records (for several edges whose Asterisk has no systemname). */
  edgeName: string | undefined;
  /** A second address that serves only the web inbox (e.g. 0.0.0.0:8081 for the LAN). */
  webListen: ListenAddress | undefined;
  /** Believe X-Forwarded-Proto and X-Forwarded-For from a reverse proxy in front of us. */
  trustProxy: boolean;
  /** Fax to email; undefined when neither a route nor an SMTP server is configured. */
  mail: MailConfig | undefined;
  /** Keys in the environment or the config file that are no setting (said once at start). */
  warnings: string[];
}

export interface MailConfig {
  routes: MailRoute[];
  smtpUrl: string;
  /** Refuse to send in clear text (on by default unless the SMTP host is loopback). */
  requireTls: boolean;
  /** CA certificates (PEM) to trust for the SMTP server, for a relay with a private CA. */
  ca: Buffer | undefined;
  from: string;
  /** Mail failed receptions too (with the pages that arrived and the reason). */
  mailFailed: boolean;
}

export const DEFAULTS = {
  agiListen: '127.0.0.1:4573',
  httpListen: '127.0.0.1:8080',
  dataDir: '/var/lib/faxbridge',
  spoolDir: '/var/spool/asterisk/fax',
  logLevel: 'info',
  maxSessions: DEFAULT_MAX_SESSIONS,
  retrySchedule: '0,5s,5m,30m,2h,5h,10h,14h,20h,24h',
  fileUrlHosts: DEFAULT_FILE_URL_HOSTS.join(','),
  maxBodyMb: 16,
  secretGrace: '24h',
  retentionDays: 30,
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Explicit flags (yargs argv: only what was typed) plus `config`, the file to read the rest from. */
export type RawOptions = Settings & { config?: string };

/**
 * The typed Config for flags, then `FAXBRIDGE_*` variables, then the config file (sources.ts),
 * then the defaults. Keys that are no setting end up in `warnings`, never as errors.
 */
export function resolveConfig(flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): Config {
  let gathered;
  try {
    gathered = gatherSettings(flags, env);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(err.message);
    throw err;
  }
  return settingsToConfig(gathered.settings, env, gathered.warnings);
}

function settingsToConfig(raw: Settings, env: NodeJS.ProcessEnv, warnings: string[]): Config {
  const maxSessions = Number(raw.maxSessions ?? DEFAULTS.maxSessions);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new ConfigError(`--max-sessions must be a positive integer, got ${raw.maxSessions}`);
  const logLevel = raw.logLevel ?? DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  let retrySchedule: number[];
  try {
    retrySchedule = parseSchedule(raw.retrySchedule ?? DEFAULTS.retrySchedule);
  } catch (err) {
    throw new ConfigError(`--retry-schedule: ${(err as Error).message}`);
  }
  let secrets: Secrets | undefined;
  return {
    agiListen: parseListen('--agi-listen', raw.agiListen ?? DEFAULTS.agiListen),
    httpListen: parseListen('--http-listen', raw.httpListen ?? DEFAULTS.httpListen),
    dataDir: path.resolve(raw.dataDir ?? env['STATE_DIRECTORY']?.split(':')[0] ?? DEFAULTS.dataDir),
    spoolDir: path.resolve(raw.spoolDir ?? DEFAULTS.spoolDir),
    target: raw.target ? parseTarget(raw.target) : undefined,
    targetKind: parseTargetKind(raw.targetKind),
    publicUrl: raw.publicUrl ? parseUrl('--public-url', raw.publicUrl).toString().replace(/\/+$/, '') : undefined,
    fileUrlHosts: (raw.fileUrlHosts ?? DEFAULTS.fileUrlHosts).split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    forwardUrls: [raw.forwardUrl ?? []].flat().flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean).map((u) => parseUrl('--forward-url', u).toString()),
    sinchAllowUnauthenticated: raw.sinchAllowUnauthenticated ?? false,
    maxBodyBytes: parseMaxBody(raw.maxBodyMb),
    secretGraceMs: parseFlagDuration('--secret-grace', raw.secretGrace ?? DEFAULTS.secretGrace),
    retentionDays: parseRetention(raw.retentionDays),
    logLevel,
    maxSessions,
    retrySchedule,
    mail: parseMail(raw),
    webListen: raw.webListen ? parseListen('--web-listen', raw.webListen) : undefined,
    edgeName: parseEdgeName(raw.edgeName),
    trustProxy: raw.trustProxy ?? false,
    // Read on first use: a command that needs no secret (inbox list) must not fail on a secret file.
    get secrets(): Secrets {
      return (secrets ??= Object.fromEntries(SECRET_NAMES.map((name) => [name, secretSlots(env, name)])) as Secrets);
    },
    warnings,
  };
}

/** This machine only: localhost, 127.0.0.0/8 or ::1 (brackets allowed, as in a URL). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** A host to connect to for a listen address: the wildcard addresses mean this machine. */
export function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export function parseListen(flag: string, value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${flag} must be HOST:PORT (port 0 picks a free one), got "${value}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function parseUrl(flag: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${flag} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${flag} must be http or https, got "${value}"`);
  return url;
}

function parseTarget(value: string): string {
  const url = parseUrl('--target', value);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/_internal/asterisk/inbound';
  return url.toString();
}

function parseTargetKind(value: string | undefined): TargetKind {
  if (value === undefined || value === 'faxbridge' || value === 'faxbot') return value ?? 'faxbridge';
  throw new ConfigError(`--target-kind must be faxbridge or faxbot, got "${value}"`);
}

function parseFlagDuration(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new ConfigError(`${flag}: ${(err as Error).message}`);
  }
}

function parseRetention(value: number | undefined): number {
  const days = Number(value ?? DEFAULTS.retentionDays);
  if (!Number.isFinite(days) || days < 0) throw new ConfigError(`--retention-days must be 0 (keep for ever) or more, got ${value}`);
  return days;
}

function parseMaxBody(value: number | undefined): number {
  const mb = Number(value ?? DEFAULTS.maxBodyMb);
  if (!Number.isFinite(mb) || mb <= 0 || mb > 1024) throw new ConfigError(`--max-body-mb must be between 0 and 1024, got ${value}`);
  return Math.round(mb * 1024 * 1024);
}

/**
 * `NAME` and `NAME_PREVIOUS`, each from the variable itself, from the file `NAME_FILE` names, or
 * from systemd's `$CREDENTIALS_DIRECTORY/NAME` (LoadCredential=).
 */
function secretSlots(env: NodeJS.ProcessEnv, name: string): SecretSlot[] {
  return [readSecretSlot(env, name), readSecretSlot(env, `${name}_PREVIOUS`)].filter((s): s is SecretSlot => s !== undefined);
}

export function readSecretSlot(env: NodeJS.ProcessEnv, name: string): SecretSlot | undefined {
  const credential = env['CREDENTIALS_DIRECTORY'] ? path.join(env['CREDENTIALS_DIRECTORY'], name) : undefined;
  const file = env[`${name}_FILE`] || (credential && existsSync(credential) ? credential : undefined);
  if (file) return { value: readSecretFile(name, file), file };
  const value = env[name]?.trim();
  return value ? { value } : undefined;
}

export function readSecretFile(name: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${name}_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`${name}_FILE ${file} is empty`);
  return value;
}

function parseMail(raw: Settings): MailConfig | undefined {
  const specs = [raw.mailRoute ?? []].flat().flatMap((r) => r.split(';')).map((r) => r.trim()).filter(Boolean);
  let routes: MailRoute[];
  try {
    routes = specs.map(parseRouteSpec);
  } catch (err) {
    if (err instanceof MailRouteError) throw new ConfigError(`--mail-route: ${err.message}`);
    throw err;
  }
  if (routes.length === 0 && !raw.smtpUrl) return undefined;
  if (!raw.smtpUrl) throw new ConfigError('--mail-route is set but --smtp-url is not: say where to send (smtp://localhost:25 for a local Postfix, smtp://smtp.example.com:587 for a provider)');
  let url: URL;
  try {
    url = new URL(raw.smtpUrl);
  } catch {
    throw new ConfigError(`--smtp-url must be smtp://host:port or smtps://host:465, got "${raw.smtpUrl}"`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new ConfigError(`--smtp-url must be smtp:// or smtps://, got "${raw.smtpUrl}"`);
  if (url.username || url.password) throw new ConfigError('--smtp-url must not carry credentials: set FAXBRIDGE_SMTP_USER and FAXBRIDGE_SMTP_PASSWORD (or their _FILE forms)');
  const from = raw.mailFrom ?? `faxbridge@${os.hostname()}`;
  if (!isAddress(from)) throw new ConfigError(`--mail-from "${from}" is not an email address`);
  const loopback = isLoopbackHost(url.hostname);
  let ca: Buffer | undefined;
  if (raw.smtpCaFile) {
    try {
      ca = readFileSync(raw.smtpCaFile);
    } catch (err) {
      throw new ConfigError(`cannot read --smtp-ca-file ${raw.smtpCaFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { routes, smtpUrl: url.toString(), requireTls: raw.smtpRequireTls ?? !loopback, ca, from, mailFailed: raw.mailFailed ?? true };
}

function parseEdgeName(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) throw new ConfigError(`--edge-name must be 1-64 letters, digits, . _ or -, got "${value}"`);
  return value;
}
