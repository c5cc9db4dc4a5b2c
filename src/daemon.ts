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
import { ConfigError, type Config } from './config.js';
import { ASTERISK_INBOUND_PATH } from './http/asterisk-inbound-route.js';
import { buildServer } from './http/server.js';
import { webhookIdFor } from './ids.js';
import { createStatusStore } from './inbox/statuses.js';
import { createInbox } from './inbox/store.js';
import { enqueueForward, faxForwardEvent, statusForwardEvent } from './outbox/forward.js';
import { createOutbox, PRIMARY_TARGET } from './outbox/queue.js';
import { createDeliveryWorker, redactUrl } from './outbox/worker.js';
import type { Dispatcher } from 'undici';
import { sinchConfigured } from './providers/sinch.js';
import { resolveSecrets } from './secrets.js';
import { openDatabase } from './store/db.js';

export interface Daemon {
  /** Resolves once the spool's existing markers have been seen. */
  spoolScanned: Promise<void>;
  agiAddress: AddressInfo;
  httpAddress: AddressInfo;
  target: string;
  stop(): Promise<void>;
}

export interface DaemonOverrides {
  agiTimeouts?: Partial<AgiTimeouts>;
  nowSeconds?: () => number;
  /** Where `file_url` fetches connect (tests route them to a local TLS server). */
  fileUrlDispatcher?: Dispatcher;
}

export async function startDaemon(config: Config, log: Logger, overrides: DaemonOverrides = {}): Promise<Daemon> {
  await prepareDirs(config, log);
  const secrets = await resolveSecrets(config.secrets, config.dataDir, log);
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

  const http = buildServer({
    logger: log,
    inbox,
    statuses,
    spoolDir: config.spoolDir,
    internal: () => ({ secrets: secrets.internalSecrets, signingKeys: secrets.signingKeys, requireSignature: secrets.signingConfigured }),
    phaxio: () => ({ apiSecrets: config.secrets.phaxioApiSecrets, callbackTokens: config.secrets.phaxioCallbackTokens, publicUrl: config.publicUrl }),
    sinch: () => ({
      basicUser: config.secrets.sinchBasicUser,
      basicPasswords: config.secrets.sinchBasicPasswords,
      hmacSecrets: config.secrets.sinchHmacSecrets,
      allowUnauthenticated: config.sinchAllowUnauthenticated,
    }),
    apiKeys: () => secrets.apiKeys,
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
    nowSeconds: overrides.nowSeconds,
    health: () => {
      const counts = outbox.counts();
      return {
        ok: true,
        agi: { address: formatAddress(agi?.address()), ...agi?.stats() },
        http: { address: formatAddress(http.server.address() as AddressInfo | null) },
        outbox: {
          pending: counts.pending,
          dead: counts.dead,
          delivered: counts.delivered,
          oldest_pending_age_s: counts.oldestPendingAt === undefined ? null : Math.round((Date.now() - counts.oldestPendingAt) / 1000),
        },
      };
    },
  });
  await listenHttp(http, config);
  const httpAddress = http.server.address() as AddressInfo;
  const target = config.target ?? ownReceiver(httpAddress);

  const worker = createDeliveryWorker({
    outbox,
    logger: log.child({ component: 'outbox' }),
    spoolDir: config.spoolDir,
    schedule: config.retrySchedule,
    resolveTarget: (stored) => (stored === PRIMARY_TARGET ? target : stored),
    faxbotCopyDir: config.targetKind === 'faxbot' ? path.join(config.dataDir, 'faxbot-copies') : undefined,
    credentials: { internalSecret: () => secrets.internalSecrets[0], signingKeys: () => secrets.signingKeys },
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
    routes: { [AGI_SCRIPT]: faxReceivedRoute({ spoolDir: config.spoolDir, recordFax }) },
  });
  let agiAddress: AddressInfo;
  try {
    agiAddress = await agi.listen();
  } catch (err) {
    await worker.stop(0);
    await http.close();
    db.close();
    throw listenError('--agi-listen', config.agiListen, err);
  }

  // Markers left while the daemon was down are picked up by the watcher's initial scan.
  const watcher: SpoolWatcher = watchSpool({ spoolDir: config.spoolDir, recordFax, logger: log.child({ component: 'spool' }) });

  log.info(
    { agi: formatAddress(agiAddress), http: formatAddress(httpAddress), target: redactUrl(target), data_dir: config.dataDir, spool_dir: config.spoolDir },
    'listening',
  );

  let stopping: Promise<void> | undefined;
  return {
    spoolScanned: watcher.ready,
    agiAddress,
    httpAddress,
    target,
    stop() {
      stopping ??= (async () => {
        log.info('shutdown.start');
        await agi!.close({ drainMs: 3000 });
        await watcher.close();
        await worker.stop(5000);
        await http.close();
        db.close();
        log.info('shutdown.done');
      })();
      return stopping;
    },
  };
}

function warnAboutProviders(config: Config, log: Logger): void {
  const s = config.secrets;
  if (!sinchConfigured({ basicUser: s.sinchBasicUser, basicPasswords: s.sinchBasicPasswords, hmacSecrets: s.sinchHmacSecrets, allowUnauthenticated: false })) {
    if (config.sinchAllowUnauthenticated) log.warn('config.sinch_route_open');
    else log.warn({ route: '/sinch-inbound' }, 'config.sinch_route_refusing');
  }
  if (s.sinchBasicUser && s.sinchBasicPasswords.length === 0) log.warn('config.sinch_basic_pass_missing');
  if (!s.phaxioApiSecrets.length && !s.phaxioCallbackTokens.length) log.warn({ routes: ['/phaxio-callback', '/phaxio-inbound'] }, 'config.phaxio_routes_refusing');
  if (s.phaxioCallbackTokens.length && !config.publicUrl) log.warn('config.phaxio_public_url_missing');
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
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}${ASTERISK_INBOUND_PATH}`;
}

export function formatAddress(a: AddressInfo | null | undefined): string | null {
  if (!a) return null;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

