/**
 * Wiring and the start/stop order. Start: store, receiver, delivery, then AGI last (so nothing
 * is acknowledged before it can be stored). Stop: AGI first (Asterisk then writes its fallback
 * marker), then delivery (attempts in flight finish or stay pending), then HTTP, then the store.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAgiServer, type AgiServer } from './agi/server.js';
import type { AgiTimeouts } from './agi/session.js';
import { deliveryBody, type AsteriskFaxEvent } from './asterisk/fax-event.js';
import { AGI_SCRIPT, faxReceivedRoute } from './asterisk/fax-received.js';
import { watchSpool, type SpoolWatcher } from './asterisk/spool-watcher.js';
import { ConfigError, connectableHost, type Config } from './config.js';
import { ASTERISK_INBOUND_PATH } from './http/asterisk-inbound-route.js';
import { buildServer } from './http/server.js';
import { webhookIdFor } from './ids.js';
import { purgeExpired } from './inbox/retention.js';
import { createMetrics } from './metrics.js';
import { createStatusStore } from './inbox/statuses.js';
import { createInbox } from './inbox/store.js';
import { enqueueForward, faxForwardEvent, statusForwardEvent } from './outbox/forward.js';
import { createOutbox, PRIMARY_TARGET } from './outbox/queue.js';
import { createDeliveryWorker } from './outbox/worker.js';
import { redactUrl } from './log/logger.js';
import type { Dispatcher } from 'undici';
import { openSecrets, verificationKeys } from './secrets.js';
import { openDatabase } from './store/db.js';

export interface Daemon {
  /** Runs retention now (it also runs at start and hourly). */
  purgeExpired(): Promise<void>;
  /** Resolves once the spool's existing markers have been seen. */
  spoolScanned: Promise<void>;
  agiAddress: AddressInfo;
  httpAddress: AddressInfo;
  target: string;
  stop(): Promise<void>;
}

export interface DaemonOverrides {
  agiTimeouts?: Partial<AgiTimeouts>;
  /** The clock for webhook timestamps and retention (tests freeze it). */
  now?: () => Date;
  /** Where `file_url` fetches connect (tests route them to a local TLS server). */
  fileUrlDispatcher?: Dispatcher;
}

export async function startDaemon(config: Config, log: Logger, overrides: DaemonOverrides = {}): Promise<Daemon> {
  const now = overrides.now ?? (() => new Date());
  await prepareDirs(config, log);
  const secrets = await openSecrets(config.secrets, { dataDir: config.dataDir, logger: log, graceMs: config.secretGraceMs });
  if (config.target && !secrets.internalConfigured) {
    log.warn({ target: redactUrl(config.target) }, 'config.internal_secret_generated_for_remote_target');
  }

  warnAboutProviders(config, log);

  const db = openDatabase(config.dataDir);
  const outbox = createOutbox(db);
  const inbox = createInbox(db, config.dataDir);
  const statuses = createStatusStore(db);
  let agi: AgiServer | undefined;
  let wakeWorker = () => {};
  const forward = config.forwardUrls.length > 0;
  const outboxGauges = () => {
    const c = outbox.counts();
    return {
      pending: c.pending,
      dead: c.dead,
      delivered: c.delivered,
      oldestPendingAgeSeconds: c.oldestPendingAt === undefined ? null : Math.round((Date.now() - c.oldestPendingAt) / 1000),
    };
  };
  const { metrics, registry } = createMetrics(outboxGauges);

  const http = buildServer({
    logger: log,
    inbox,
    statuses,
    spoolDir: config.spoolDir,
    internal: () => ({
      secrets: secrets.get('ASTERISK_INBOUND_SECRET'),
      signingKeys: verificationKeys(secrets),
      requireSignature: secrets.signingConfigured,
    }),
    phaxio: () => ({ apiSecrets: secrets.get('PHAXIO_API_SECRET'), callbackTokens: secrets.get('PHAXIO_CALLBACK_TOKEN'), publicUrl: config.publicUrl }),
    sinch: () => ({
      basicUser: secrets.current('SINCH_INBOUND_BASIC_USER'),
      basicPasswords: secrets.get('SINCH_INBOUND_BASIC_PASS'),
      hmacSecrets: secrets.get('SINCH_INBOUND_HMAC_SECRET'),
      allowUnauthenticated: config.sinchAllowUnauthenticated,
    }),
    apiKeys: () => secrets.get('FAXBRIDGE_API_KEY'),
    fileFetch: { allowedHosts: config.fileUrlHosts, maxBytes: config.maxBodyBytes, dispatcher: overrides.fileUrlDispatcher },
    providerBodyLimit: config.maxBodyBytes,
    onInboxCreated: forward
      ? (row) => {
          enqueueForward(outbox, config.forwardUrls, faxForwardEvent(row, new Date()), Date.now());
          wakeWorker();
        }
      : undefined,
    onStatusCreated: forward
      ? (row) => {
          enqueueForward(outbox, config.forwardUrls, statusForwardEvent(row, new Date()), Date.now());
          wakeWorker();
        }
      : undefined,
    nowSeconds: () => Math.floor(now().getTime() / 1000),
    health: () => {
      const o = outboxGauges();
      return {
        ok: true,
        agi: { address: formatAddress(agi?.address()), ...agi?.stats() },
        http: { address: formatAddress(http.server.address() as AddressInfo | null) },
        outbox: { pending: o.pending, dead: o.dead, delivered: o.delivered, oldest_pending_age_s: o.oldestPendingAgeSeconds },
      };
    },
    metrics: { text: () => registry.metrics(), contentType: registry.contentType, httpRequest: metrics.httpRequest },
  });
  try {
    await listenHttp(http, config);
  } catch (err) {
    await secrets.close();
    db.close();
    throw err;
  }
  const httpAddress = http.server.address() as AddressInfo;
  const target = config.target ?? ownReceiver(httpAddress);

  const faxbotCopyDir = path.join(config.dataDir, 'faxbot-copies');
  const worker = createDeliveryWorker({
    outbox,
    logger: log.child({ component: 'outbox' }),
    spoolDir: config.spoolDir,
    schedule: config.retrySchedule,
    resolveTarget: (stored) => (stored === PRIMARY_TARGET ? target : stored),
    faxbotCopyDir: config.targetKind === 'faxbot' ? faxbotCopyDir : undefined,
    onOutcome: metrics.delivery,
    credentials: { internalSecret: () => secrets.current('ASTERISK_INBOUND_SECRET'), signingKeys: () => secrets.signingKeys() },
  });
  worker.start();
  wakeWorker = () => worker.wake();

  const recordFax = (event: AsteriskFaxEvent) => {
    const result = outbox.enqueue(
      {
        eventKey: `asterisk:${event.uniqueid}`,
        target: PRIMARY_TARGET,
        webhookId: webhookIdFor('asterisk', event.uniqueid),
        body: deliveryBody(event),
        tiffPath: event.tiff_path,
        tiffSha256: event.tiff_sha256,
      },
      Date.now(),
    );
    worker.wake();
    return result;
  };

  agi = createAgiServer({
    host: config.agiListen.host,
    port: config.agiListen.port,
    maxSessions: config.maxSessions,
    logger: log.child({ component: 'agi' }),
    timeouts: overrides.agiTimeouts,
    routes: { [AGI_SCRIPT]: faxReceivedRoute({ spoolDir: config.spoolDir, recordFax, onOutcome: metrics.agiSession }) },
  });
  let agiAddress: AddressInfo;
  try {
    agiAddress = await agi.listen();
  } catch (err) {
    await worker.stop(0);
    await http.close();
    await secrets.close();
    db.close();
    throw listenError('--agi-listen', config.agiListen, err);
  }

  // Markers left while the daemon was down are picked up by the watcher's initial scan.
  const watcher: SpoolWatcher = watchSpool({ spoolDir: config.spoolDir, recordFax, logger: log.child({ component: 'spool' }) });

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

  log.info(
    { agi: formatAddress(agiAddress), http: formatAddress(httpAddress), target: redactUrl(target), data_dir: config.dataDir, spool_dir: config.spoolDir },
    'listening',
  );

  let stopping: Promise<void> | undefined;
  return {
    spoolScanned: watcher.ready,
    purgeExpired: () => (retentionRun = retention()),
    agiAddress,
    httpAddress,
    target,
    stop() {
      stopping ??= (async () => {
        log.info('shutdown.start');
        await agi!.close({ drainMs: 3000 });
        await watcher.close();
        clearInterval(retentionTimer);
        await retentionRun;
        await worker.stop(5000);
        await http.close();
        await secrets.close();
        db.close();
        log.info('shutdown.done');
      })();
      return stopping;
    },
  };
}

function warnAboutProviders(config: Config, log: Logger): void {
  const s = config.secrets;
  if (!s.SINCH_INBOUND_BASIC_USER.length && !s.SINCH_INBOUND_HMAC_SECRET.length) {
    if (config.sinchAllowUnauthenticated) log.warn('config.sinch_route_open');
    else log.warn({ route: '/sinch-inbound' }, 'config.sinch_route_refusing');
  }
  if (s.SINCH_INBOUND_BASIC_USER.length && !s.SINCH_INBOUND_BASIC_PASS.length) log.warn('config.sinch_basic_pass_missing');
  if (!s.PHAXIO_API_SECRET.length && !s.PHAXIO_CALLBACK_TOKEN.length) log.warn({ routes: ['/phaxio-callback', '/phaxio-inbound'] }, 'config.phaxio_routes_refusing');
  if (s.PHAXIO_CALLBACK_TOKEN.length && !config.publicUrl) log.warn('config.phaxio_public_url_missing');
  if (config.targetKind === 'faxbot' && /test/i.test(config.dataDir)) {
    log.warn({ data_dir: config.dataDir }, 'config.faxbot_copy_path_contains_test');
  }
}

async function prepareDirs(config: Config, log: Logger): Promise<void> {
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError(`cannot create data dir ${config.dataDir}: ${(err as NodeJS.ErrnoException).code}; pass --data-dir or FAXBRIDGE_DATA_DIR`);
  }
  const spool = await stat(config.spoolDir).catch(() => undefined);
  if (!spool?.isDirectory()) {
    log.warn({ spool_dir: config.spoolDir }, 'config.spool_dir_missing');
  }
}

async function listenHttp(http: ReturnType<typeof buildServer>, config: Config): Promise<void> {
  try {
    await http.listen({ host: config.httpListen.host, port: config.httpListen.port });
  } catch (err) {
    throw listenError('--http-listen', config.httpListen, err);
  }
}

function listenError(flag: string, at: { host: string; port: number }, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
  return new ConfigError(`cannot listen on ${at.host}:${at.port} (${flag}): ${why}`);
}

function ownReceiver(address: AddressInfo): string {
  return `http://${connectableHost(address.address)}:${address.port}${ASTERISK_INBOUND_PATH}`;
}

function formatAddress(a: AddressInfo | null | undefined): string | null {
  if (!a) return null;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

