/**
 * Wiring and the start/stop order. Start: store, receiver, delivery, then AGI last (so nothing
 * is acknowledged before it can be stored). Stop: AGI first (Asterisk then writes its fallback
 * marker), then delivery (attempts in flight finish or stay pending), then HTTP, then the store.
 */
import { mkdir, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAgiServer, type AgiServer } from './agi/server.js';
import type { AgiTimeouts } from './agi/session.js';
import { deliveryBody, type AsteriskFaxEvent } from './asterisk/fax-event.js';
import { AGI_SCRIPT, faxReceivedRoute } from './asterisk/fax-received.js';
import { ConfigError, type Config } from './config.js';
import { ASTERISK_INBOUND_PATH } from './http/asterisk-inbound-route.js';
import { buildServer } from './http/server.js';
import { webhookIdFor } from './ids.js';
import { createInbox } from './inbox/store.js';
import { createOutbox, PRIMARY_TARGET } from './outbox/queue.js';
import { createDeliveryWorker, redactUrl } from './outbox/worker.js';
import { resolveSecrets } from './secrets.js';
import { openDatabase } from './store/db.js';

export interface Daemon {
  agiAddress: AddressInfo;
  httpAddress: AddressInfo;
  target: string;
  stop(): Promise<void>;
}

export interface DaemonOverrides {
  agiTimeouts?: Partial<AgiTimeouts>;
  nowSeconds?: () => number;
}

export async function startDaemon(config: Config, log: Logger, overrides: DaemonOverrides = {}): Promise<Daemon> {
  await prepareDirs(config, log);
  const secrets = await resolveSecrets(config.secrets, config.dataDir, log);
  if (config.target && !secrets.internalConfigured) {
    log.warn({ target: redactUrl(config.target) }, 'config.internal_secret_generated_for_remote_target');
  }

  const db = openDatabase(config.dataDir);
  const outbox = createOutbox(db);
  const inbox = createInbox(db, config.dataDir);
  let agi: AgiServer | undefined;

  const http = buildServer({
    logger: log,
    inbox,
    spoolDir: config.spoolDir,
    internal: () => ({ secrets: secrets.internalSecrets, signingKeys: secrets.signingKeys, requireSignature: secrets.signingConfigured }),
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
    credentials: { internalSecret: () => secrets.internalSecrets[0], signingKeys: () => secrets.signingKeys },
  });
  worker.start();

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

  log.info(
    { agi: formatAddress(agiAddress), http: formatAddress(httpAddress), target: redactUrl(target), data_dir: config.dataDir, spool_dir: config.spoolDir },
    'listening',
  );

  let stopping: Promise<void> | undefined;
  return {
    agiAddress,
    httpAddress,
    target,
    stop() {
      stopping ??= (async () => {
        log.info('shutdown.start');
        await agi!.close({ drainMs: 3000 });
        await worker.stop(5000);
        await http.close();
        db.close();
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

