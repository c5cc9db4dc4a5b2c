/**
 * Assembles the daemon. Each part is opened in order and registers its close function on one
 * teardown stack, so a failed start and a stop unwind the same way, newest first:
 * the AGI port closes before anything it depends on (Asterisk then writes its fallback marker),
 * then delivery (attempts in flight finish or stay pending), HTTP, the commit queue, the store.
 */
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { createAgiServer, type AgiServer } from '../agi/server.js';
import type { AgiTimeouts } from '../agi/session.js';
import { AGI_SCRIPT, faxReceivedRoute } from '../asterisk/fax-received.js';
import { watchSpool } from '../asterisk/spool-watcher.js';
import { ConfigError, connectableHost, type Config } from '../config/config.js';
import { openSecrets } from '../config/secrets.js';
import { buildServer, buildWebServer } from '../http/server.js';
import { createIngest } from '../inbox/ingest.js';
import { purgeExpired } from '../inbox/retention.js';
import { createStatusStore } from '../inbox/statuses.js';
import { createInbox, type InboxRow } from '../inbox/store.js';
import { maskNumber, redactUrl } from '../log/logger.js';
import { mailDelivery } from '../mail/deliver.js';
import { mailFor } from '../mail/queue.js';
import { createMailSender } from '../mail/sender.js';
import { enqueueForward, faxForwardEvent, statusForwardEvent } from '../outbox/forward.js';
import { createOutbox, PRIMARY_TARGET } from '../outbox/queue.js';
import { createDeliveryWorker, MAIL_TARGET_PREFIX } from '../outbox/worker.js';
import { ASTERISK_INBOUND_PATH, internalRoutes } from '../providers/internal.js';
import { phaxioRoutes } from '../providers/phaxio.js';
import { sinchRoutes } from '../providers/sinch.js';
import { openDatabase, walSyncer } from '../store/db.js';
import { createGroupCommit, type GroupCommitOptions } from '../store/group-commit.js';
import { routeCredentials } from './credentials.js';
import { configFindings } from './findings.js';
import { createMetrics } from './metrics.js';
import { recordForDelivery, recordLocally } from './record-fax.js';
import { createTeardown } from './teardown.js';

export interface Daemon {
  /** Runs retention now (it also runs at start and hourly). */
  purgeExpired(): Promise<void>;
  /** Resolves once the spool's existing markers have been seen. */
  spoolScanned: Promise<void>;
  agiAddress: AddressInfo;
  httpAddress: AddressInfo;
  /** Where the web inbox is: --web-listen, else the HTTP address. */
  webAddress: AddressInfo;
  /** Where Asterisk events go: `local` (straight into this inbox) or the target's URL. */
  target: string;
  stop(): Promise<void>;
}

export interface DaemonOverrides {
  agiTimeouts?: Partial<AgiTimeouts>;
  /** The one clock: received times, webhook timestamps and windows, retention (tests freeze it). */
  now?: () => Date;
  /** Where `file_url` fetches connect (tests route them to a local TLS server). */
  fileUrlDispatcher?: Dispatcher;
  commit?: GroupCommitOptions;
}

export const LOCAL_TARGET = 'local';

export async function startDaemon(config: Config, log: Logger, overrides: DaemonOverrides = {}): Promise<Daemon> {
  const now = overrides.now ?? (() => new Date());
  const teardown = createTeardown(log);
  try {
    return await assemble(config, log, now, overrides, teardown);
  } catch (err) {
    await teardown.unwind();
    throw err;
  }
}

async function assemble(
  config: Config,
  log: Logger,
  now: () => Date,
  overrides: DaemonOverrides,
  teardown: ReturnType<typeof createTeardown>,
): Promise<Daemon> {
  await prepareDirs(config, log);
  const secrets = await openSecrets(config.secrets, { dataDir: config.dataDir, logger: log, graceMs: config.secretGraceMs, now: () => now().getTime() });
  teardown.push('secrets', () => secrets.close());
  for (const f of configFindings(config)) {
    if (f.severity === 'ok') continue;
    log[f.severity === 'info' ? 'info' : 'warn']({ hint: f.text }, f.event);
  }

  const db = openDatabase(config.dataDir, { walSync: 'caller' });
  teardown.push('database', () => db.close());
  const wal = walSyncer(config.dataDir);
  teardown.push('wal', () => wal.close());
  const { metrics, registry } = createMetrics(() => outboxGauges());
  const commits = createGroupCommit(db, { ...overrides.commit, sync: wal.sync, onFlush: metrics.commitBatch });
  teardown.push('commits', () => commits.close());
  const outbox = createOutbox(db);
  const inbox = createInbox(db);
  const statuses = createStatusStore(db);
  const outboxGauges = () => {
    const c = outbox.counts();
    const m = outbox.counts(MAIL_TARGET_PREFIX);
    const oldest = c.oldestPendingAt === undefined ? null : Math.round((now().getTime() - c.oldestPendingAt) / 1000);
    return { pending: c.pending, dead: c.dead, delivered: c.delivered, oldestPendingAgeSeconds: oldest, mailPending: m.pending, mailDead: m.dead };
  };
  const hostname = os.hostname();
  const mailSender = config.mail
    ? createMailSender(config.mail, { user: () => secrets.current('FAXBRIDGE_SMTP_USER'), password: () => secrets.current('FAXBRIDGE_SMTP_PASSWORD') })
    : undefined;
  if (mailSender) teardown.push('mail', () => mailSender.close());

  let httpAddress: AddressInfo | undefined;
  const faxbotCopyDir = path.join(config.dataDir, 'faxbot-copies');
  const pinDir = path.join(config.dataDir, 'outbox-documents');
  const credentials = routeCredentials(config, secrets);
  const worker = createDeliveryWorker({
    outbox,
    logger: log.child({ component: 'outbox' }),
    spoolDir: config.spoolDir,
    pinDir,
    schedule: config.retrySchedule,
    // Rows queued for this daemon's own receiver before local ingest existed still go there.
    resolveTarget: (stored) => (stored === PRIMARY_TARGET ? (config.target ?? ownReceiver(httpAddress!)) : stored),
    faxbotCopyDir: config.targetKind === 'faxbot' ? faxbotCopyDir : undefined,
    mail:
      mailSender && config.mail
        ? mailDelivery({ inbox, sender: mailSender, config: config.mail, hostname, linkFor: config.publicUrl ? (id) => `${config.publicUrl}/fax/${id}` : undefined })
        : undefined,
    onOutcome: metrics.delivery,
    credentials: { internalSecret: () => secrets.current('ASTERISK_INBOUND_SECRET'), signingKeys: () => secrets.signingKeys() },
    now: () => now().getTime(),
  });

  const forwardTo = (event: { key: string; webhookId: string; body: string }) => {
    enqueueForward(outbox, config.forwardUrls, event, now().getTime());
    worker.wake();
  };
  const forwarding = config.forwardUrls.length > 0;
  const mailLog = log.child({ component: 'mail' });
  // Runs inside the transaction that creates the record: its forwards and its mail are queued with it.
  const onFaxCreated = (row: InboxRow) => {
    if (forwarding) forwardTo(faxForwardEvent(row, now()));
    if (!config.mail) return;
    const decision = mailFor(row, config.mail, hostname);
    if ('skip' in decision) {
      if (decision.skip === 'unrouted') mailLog.info({ id: row.id, to: maskNumber(row.to_number) }, 'mail.unrouted');
      return;
    }
    outbox.enqueue(decision.queue, now().getTime());
    worker.wake();
  };
  // A full disk: no fax is acked (Asterisk keeps its marker); said once a minute, and on /healthz.
  let diskFullSince: Date | undefined;
  let diskFullLogged = 0;
  const ingest = await createIngest({
    onDiskFull: (err) => {
      diskFullSince ??= now();
      if (now().getTime() - diskFullLogged < 60_000) return;
      diskFullLogged = now().getTime();
      log.error({ data_dir: config.dataDir, err: String(err), since: diskFullSince.toISOString() }, 'store.disk_full');
    },
    onStored: () => {
      if (!diskFullSince) return;
      log.info({ data_dir: config.dataDir, since: diskFullSince.toISOString() }, 'store.disk_ok');
      diskFullSince = undefined;
      diskFullLogged = 0;
    },
    logger: log.child({ component: 'inbox' }),
    dataDir: config.dataDir,
    inbox,
    statuses,
    commits,
    now,
    onFaxCreated: forwarding || config.mail ? onFaxCreated : undefined,
    onStatusCreated: forwarding ? (row) => forwardTo(statusForwardEvent(row, now())) : undefined,
  });

  let agi: AgiServer | undefined;
  const nowSeconds = () => Math.floor(now().getTime() / 1000);
  const web = { db, inbox, statuses, publicUrl: config.publicUrl, trustProxy: config.trustProxy, now };
  const http = buildServer({
    logger: log,
    web,
    trustProxy: config.trustProxy,
    providers: {
      routes: [...internalRoutes(credentials.internal, nowSeconds), ...phaxioRoutes(credentials.phaxio), ...sinchRoutes(credentials.sinch)],
      ingest,
      documents: {
        spoolDir: config.spoolDir,
        fileFetch: { allowedHosts: config.fileUrlHosts, maxBytes: config.maxBodyBytes, dispatcher: overrides.fileUrlDispatcher },
      },
      bodyLimit: config.maxBodyBytes,
      now,
    },
    inboxApi: { inbox, statuses, apiKeys: credentials.apiKeys },
    health: () => {
      const o = outboxGauges();
      return {
        ok: diskFullSince === undefined,
        ...(diskFullSince ? { problem: `disk full since ${diskFullSince.toISOString()}: faxes are not acked (Asterisk keeps them as markers)` } : {}),
        agi: { address: formatAddress(agi?.address()), ...agi?.stats() },
        http: { address: formatAddress(httpAddress) },
        // What `faxbridge simulate` needs to play Asterisk against this daemon.
        spool_dir: config.spoolDir,
        data_dir: config.dataDir,
        target: config.target ? redactUrl(config.target) : LOCAL_TARGET,
        outbox: { pending: o.pending, dead: o.dead, delivered: o.delivered, oldest_pending_age_s: o.oldestPendingAgeSeconds },
        mail: config.mail ? { pending: o.mailPending, dead: o.mailDead } : undefined,
      };
    },
    metrics: { text: () => registry.metrics(), contentType: registry.contentType, httpRequest: metrics.httpRequest, tokens: () => secrets.get('FAXBRIDGE_METRICS_TOKEN') },
  });
  try {
    await http.listen({ host: config.httpListen.host, port: config.httpListen.port });
  } catch (err) {
    throw listenError('--http-listen', config.httpListen, err);
  }
  teardown.push('http', () => http.close());
  httpAddress = http.server.address() as AddressInfo;
  let webAddress: AddressInfo | undefined;
  if (config.webListen) {
    const webOnly = buildWebServer({ logger: log, web, trustProxy: config.trustProxy });
    try {
      await webOnly.listen({ host: config.webListen.host, port: config.webListen.port });
    } catch (err) {
      throw listenError('--web-listen', config.webListen, err);
    }
    teardown.push('web', () => webOnly.close());
    webAddress = webOnly.server.address() as AddressInfo;
  }

  worker.start();
  teardown.push('delivery', () => worker.stop(5000));

  if (config.target) await mkdir(pinDir, { recursive: true, mode: 0o750 });
  const recordFax = config.target
    ? recordForDelivery({ outbox, commits, pinDir, now, wake: () => worker.wake(), edge: config.edgeName })
    : recordLocally(ingest, now, config.edgeName);

  // Markers left while the daemon was down are picked up by the watcher's initial scan.
  const watcher = watchSpool({ spoolDir: config.spoolDir, recordFax, logger: log.child({ component: 'spool' }), now });
  teardown.push('spool watcher', () => watcher.close());

  agi = createAgiServer({
    host: config.agiListen.host,
    port: config.agiListen.port,
    maxSessions: config.maxSessions,
    logger: log.child({ component: 'agi' }),
    timeouts: overrides.agiTimeouts,
    routes: { [AGI_SCRIPT]: faxReceivedRoute({ spoolDir: config.spoolDir, recordFax, now, onOutcome: metrics.agiSession }) },
  });
  let agiAddress: AddressInfo;
  try {
    agiAddress = await agi.listen();
  } catch (err) {
    throw listenError('--agi-listen', config.agiListen, err);
  }
  const agiServer = agi;
  teardown.push('agi', () => agiServer.close({ drainMs: 3000 }));

  const retention = async () => {
    if (config.retentionDays <= 0) return;
    try {
      await purgeExpired(db, { retentionDays: config.retentionDays, now: now(), logger: log, extraDirs: [faxbotCopyDir] });
    } catch (err) {
      log.error({ err: String(err) }, 'retention.failed');
    }
  };
  let retentionRun = retention();
  const retentionTimer = setInterval(() => (retentionRun = retention()), 3_600_000);
  retentionTimer.unref();
  teardown.push('retention', async () => {
    clearInterval(retentionTimer);
    await retentionRun;
  });

  const target = config.target ? redactUrl(config.target) : LOCAL_TARGET;
  const apiKeyFile = secrets.fileOf('FAXBRIDGE_API_KEY');
  log.info(
    {
      agi: formatAddress(agiAddress),
      http: formatAddress(httpAddress),
      web: formatAddress(webAddress ?? httpAddress),
      target,
      data_dir: config.dataDir,
      spool_dir: config.spoolDir,
      next: `smoke test: faxbridge simulate; faxes: faxbridge inbox list${apiKeyFile ? `; API key: sudo cat ${apiKeyFile}` : ''}`,
    },
    'listening',
  );

  let stopping: Promise<void> | undefined;
  return {
    spoolScanned: watcher.ready,
    purgeExpired: () => (retentionRun = retention()),
    agiAddress,
    httpAddress,
    webAddress: webAddress ?? httpAddress,
    target,
    stop() {
      stopping ??= (async () => {
        log.info('shutdown.start');
        await teardown.unwind();
        log.info('shutdown.done');
      })();
      return stopping;
    },
  };
}

async function prepareDirs(config: Config, log: Logger): Promise<void> {
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError(`cannot create data dir ${config.dataDir}: ${(err as NodeJS.ErrnoException).code}; pass --data-dir or FAXBRIDGE_DATA_DIR`);
  }
  const spool = await stat(config.spoolDir).catch(() => undefined);
  if (!spool?.isDirectory()) {
    log.warn(
      { spool_dir: config.spoolDir, hint: `create it (install -d -o asterisk -g asterisk -m 2770 ${config.spoolDir}) or set --spool-dir to Asterisk's FAXFILE directory` },
      'config.spool_dir_missing',
    );
  }
}

function listenError(flag: string, at: { host: string; port: number }, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
  return new ConfigError(`cannot listen on ${at.host}:${at.port} (${flag}): ${why}`);
}

export function ownReceiver(address: AddressInfo): string {
  return `http://${connectableHost(address.address)}:${address.port}${ASTERISK_INBOUND_PATH}`;
}

function formatAddress(a: AddressInfo | null | undefined): string | null {
  if (!a) return null;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
