/**
 * `faxbridge check`: the configuration as the daemon would run it, secrets masked, and every
 * problem a sysadmin can fix before starting it. Reads only; creates nothing.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { connectableHost, readSecretFile, SECRET_NAMES, type Config, type ListenAddress, type MailConfig, type SecretName } from '../config/config.js';
import { createMailSender } from '../mail/sender.js';
import { redactUrl } from '../log/logger.js';
import { ASTERISK_INBOUND_PATH, PROBE_BODY } from '../providers/internal.js';
import { generatedSecretPath } from '../config/secrets.js';
import { signingKey, signWebhook } from '../signing/standard-webhooks.js';
import { configFindings } from './findings.js';
import { DEFAULT_UNIT_FILE, parseUnit, type UnitFacts } from './unit-file.js';

export interface CheckReport {
  settings: Array<[string, string]>;
  ok: string[];
  problems: string[];
}

const GENERATED_FILES: Record<string, string> = {
  ASTERISK_INBOUND_SECRET: 'internal-secret',
  FAXBRIDGE_WEBHOOK_SECRET: 'webhook-secret',
  FAXBRIDGE_API_KEY: 'api-key',
};

export async function runCheck(config: Config, o: { unitFile?: string } = {}): Promise<CheckReport> {
  const report: CheckReport = { settings: [], ok: [], problems: [] };
  const good = (m: string) => report.ok.push(m);
  const bad = (m: string) => report.problems.push(m);
  const unit = await readUnit(o.unitFile, config, good, bad);

  const generated: Record<string, string | undefined> = {};
  for (const [name, file] of Object.entries(GENERATED_FILES)) {
    generated[name] = await readFile(generatedSecretPath(config.dataDir, file), 'utf8').then((t) => t.trim() || undefined, () => undefined);
  }
  report.settings.push(
    ['agi-listen', `${config.agiListen.host}:${config.agiListen.port}`],
    ['http-listen', `${config.httpListen.host}:${config.httpListen.port}`],
    ['data-dir', config.dataDir],
    ['spool-dir', config.spoolDir],
    ['target', config.target ? `${redactUrl(config.target)} (${config.targetKind})` : "this daemon's own receiver"],
    ['public-url', config.publicUrl ?? '(not set)'],
    ['file-url-hosts', config.fileUrlHosts.join(',')],
    ['forward-url', config.forwardUrls.map(redactUrl).join(', ') || '(none)'],
    ['retention-days', config.retentionDays ? String(config.retentionDays) : '0 (keep for ever)'],
    ['retry-schedule', config.retrySchedule.map((ms) => `${ms / 1000}s`).join(',')],
    ['smtp-url', config.mail ? `${config.mail.smtpUrl}${config.mail.requireTls ? ' (TLS required)' : ''}` : '(not set: no fax email)'],
    ['mail-from', config.mail?.from ?? '-'],
  );
  for (const name of SECRET_NAMES) {
    const slots = config.secrets[name];
    const where = slots.map((s, i) => `${i ? 'previous ' : ''}${s.file ? `file ${s.file}` : 'environment'}`).join(', ');
    const fromUnit = unit?.secrets.get(name);
    const shown = slots.length
      ? `**** (${where})`
      : fromUnit
        ? `**** (systemd credential, file ${fromUnit.source})`
        : name in generated
          ? generated[name]
            ? `**** (generated, ${generatedSecretPath(config.dataDir, GENERATED_FILES[name]!)})`
            : '(not set: generated on first start)'
          : '(not set)';
    report.settings.push([name, shown]);
  }

  await checkDirs(config, good, bad, unit?.facts);
  const running = await runningDaemon(config.httpListen);
  for (const [flag, addr] of [['--agi-listen', config.agiListen], ['--http-listen', config.httpListen]] as const) {
    const free = await portFree(addr);
    if (free === true) good(`${flag} ${addr.host}:${addr.port} is free`);
    else if (running) good(`${flag} ${addr.host}:${addr.port} is in use by a running faxbridge`);
    else bad(`${flag} ${addr.host}:${addr.port}: ${free}`);
  }

  const secretOf = (name: SecretName) => config.secrets[name][0]?.value ?? unit?.secrets.get(name)?.value ?? generated[name];
  const secret = secretOf('ASTERISK_INBOUND_SECRET');
  const signing = [secretOf('FAXBRIDGE_WEBHOOK_SECRET')].filter((v): v is string => {
    if (!v) return false;
    try {
      signingKey(v);
      return true;
    } catch (err) {
      bad(`FAXBRIDGE_WEBHOOK_SECRET: ${(err as Error).message}`);
      return false;
    }
  });
  if (running && running.dataDir && running.dataDir !== config.dataDir) {
    bad(`the faxbridge running on ${config.httpListen.host}:${config.httpListen.port} uses data dir ${running.dataDir}, not ${config.dataDir}: pass --data-dir ${running.dataDir} (or FAXBRIDGE_DATA_DIR)`);
  }
  const target = config.target ?? (running ? `http://${connectableHost(config.httpListen.host)}:${config.httpListen.port}${ASTERISK_INBOUND_PATH}` : undefined);
  if (!target) good("target: this daemon's own receiver (not running now, so not probed)");
  else await probeTarget(target, secret, signing, good, bad);
  for (const f of configFindings(config)) (f.severity === 'problem' ? bad : good)(f.text);
  if (config.mail) await checkMail(config.mail, config, good, bad);
  return report;
}

/**
 * The unit's facts, when a unit file is there: its credentials are the secrets the service
 * will have (check probes with them), and each source file must exist or systemd will not start.
 */
async function readUnit(
  file: string | undefined,
  config: Config,
  good: (m: string) => void,
  bad: (m: string) => void,
): Promise<{ facts: UnitFacts; secrets: Map<string, { value: string; source: string }> } | undefined> {
  const unitFile = file ?? DEFAULT_UNIT_FILE;
  const text = await readFile(unitFile, 'utf8').catch(() => undefined);
  if (text === undefined) {
    if (file) bad(`cannot read the unit file ${file}`);
    return undefined;
  }
  const facts = parseUnit(text);
  good(`unit ${unitFile}: ${facts.credentials.size} credential(s), state dir ${facts.stateDirectories.map((d) => `/var/lib/${d}`).join(', ') || '(none)'}`);
  const secrets = new Map<string, { value: string; source: string }>();
  for (const [name, source] of facts.credentials) {
    if (!(SECRET_NAMES as readonly string[]).includes(name) || config.secrets[name as SecretName].length > 0) continue;
    try {
      secrets.set(name, { value: readSecretFile(name, source), source });
    } catch (err) {
      bad(`the unit loads ${name} from ${source}: ${(err as Error).message}; systemd will refuse to start the service`);
    }
  }
  return { facts, secrets };
}

/** Routes listed, then EHLO, STARTTLS and AUTH against the server, as the daemon will do them. */
async function checkMail(mail: MailConfig, config: Config, good: (m: string) => void, bad: (m: string) => void): Promise<void> {
  if (mail.routes.length === 0) good('mail: an SMTP server is set but no --mail-route: no fax is emailed');
  for (const r of mail.routes) good(`mail route ${r.pattern} -> ${r.recipients.join(', ')}`);
  const sender = createMailSender(mail, { user: () => config.secrets.FAXBRIDGE_SMTP_USER[0]?.value, password: () => config.secrets.FAXBRIDGE_SMTP_PASSWORD[0]?.value }, { timeoutMs: 10_000 });
  const verdict = await sender.verify();
  sender.close();
  const shown = `${mail.smtpUrl}${config.secrets.FAXBRIDGE_SMTP_USER.length ? ' (with AUTH)' : ''}${mail.requireTls ? ', TLS required' : ''}`;
  const steps = ['EHLO', mail.requireTls ? 'STARTTLS (required)' : 'STARTTLS if offered', ...(config.secrets.FAXBRIDGE_SMTP_USER.length ? ['AUTH'] : [])];
  if (verdict.ok) good(`SMTP ${shown} accepts us (${steps.join(', ')})`);
  else bad(`SMTP ${shown}: ${verdict.problem}`);
}

async function checkDirs(config: Config, good: (m: string) => void, bad: (m: string) => void, unit: UnitFacts | undefined): Promise<void> {
  const spool = await stat(config.spoolDir).catch(() => undefined);
  if (!spool?.isDirectory()) bad(`spool dir ${config.spoolDir} does not exist (--spool-dir; Asterisk's FAXFILE directory)`);
  else if (!(await can(config.spoolDir, constants.R_OK | constants.X_OK))) bad(`spool dir ${config.spoolDir} is not readable by this user (add it to the asterisk group)`);
  else if (!(await can(config.spoolDir, constants.W_OK))) bad(`spool dir ${config.spoolDir} is not writable by this user: fallback markers cannot be removed once delivered`);
  else good(`spool dir ${config.spoolDir} is readable and writable`);

  const data = await stat(config.dataDir).catch(() => undefined);
  if (data && !data.isDirectory()) bad(`data dir ${config.dataDir} is not a directory`);
  else if (data && !(await can(config.dataDir, constants.W_OK))) bad(`data dir ${config.dataDir} is not writable by this user`);
  else if (!data && unit?.stateDirectories.some((d) => path.join('/var/lib', d) === config.dataDir)) good(`data dir ${config.dataDir} will be created by systemd at the first start (StateDirectory=)`);
  else if (!data && !(await can(path.dirname(config.dataDir), constants.W_OK))) bad(`data dir ${config.dataDir} does not exist and cannot be created by this user`);
  else good(`data dir ${config.dataDir} is ${data ? 'writable' : 'creatable'}`);
}

async function can(file: string, mode: number): Promise<boolean> {
  return access(file, mode).then(() => true, () => false);
}

/** `true`, or why the port cannot be bound. */
function portFree(addr: ListenAddress): Promise<true | string> {
  if (addr.port === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'the port is in use' : `cannot bind (${err.code})`));
    server.listen(addr.port, addr.host, () => server.close(() => resolve(true)));
  });
}

/** The faxbridge answering on this address, if one does, with the data dir it uses. */
async function runningDaemon(addr: ListenAddress): Promise<{ dataDir: string | undefined } | undefined> {
  if (addr.port === 0) return undefined;
  try {
    const res = await request(`http://${connectableHost(addr.host)}:${addr.port}/healthz`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.body.json()) as { agi?: unknown; outbox?: unknown; data_dir?: string };
    return res.statusCode === 200 && body.agi !== undefined && body.outbox !== undefined ? { dataDir: body.data_dir } : undefined;
  } catch {
    return undefined;
  }
}

async function probeTarget(target: string, secret: string | undefined, signing: string[], good: (m: string) => void, bad: (m: string) => void): Promise<void> {
  const id = `probe_${Date.now()}`;
  const ts = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(signing.map(signingKey), id, ts, PROBE_BODY),
  };
  if (secret) headers['x-internal-secret'] = secret;
  const shown = redactUrl(target);
  try {
    const res = await request(target, { method: 'POST', headers, body: PROBE_BODY, signal: AbortSignal.timeout(10_000) });
    await res.body.dump();
    const code = res.statusCode;
    if (code >= 200 && code < 300) good(`target ${shown} accepts our secret and signature`);
    else if (code === 400 || code === 422) good(`target ${shown} is reachable and accepts our secret (it answered ${code} to the probe body, as Faxbot does)`);
    else if (code === 401 || code === 403) bad(`target ${shown} refused our credentials (${code}): check ASTERISK_INBOUND_SECRET and FAXBRIDGE_WEBHOOK_SECRET on both sides`);
    else if (code === 404) bad(`target ${shown} answered 404: wrong URL, or inbound is disabled there (Faxbot: INBOUND_ENABLED)`);
    else bad(`target ${shown} answered ${code}`);
  } catch (err) {
    bad(`target ${shown} is unreachable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
