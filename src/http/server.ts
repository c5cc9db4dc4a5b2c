/**
 * The HTTP receiver. Every body arrives as raw bytes (no parser runs before authentication),
 * size-limited per route; errors are `{"detail": "..."}` like Faxbot's.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { StatusRow, StatusStore } from '../inbox/statuses.js';
import type { Inbox, InboxRow } from '../inbox/store.js';
import type { FetchOptions } from '../providers/file-url.js';
import type { InternalCredentials } from '../providers/internal.js';
import type { PhaxioCredentials } from '../providers/phaxio.js';
import type { SinchCredentials } from '../providers/sinch.js';
import { asteriskInboundRoutes } from './asterisk-inbound-route.js';
import { inboxRoutes } from './inbox-routes.js';
import { providerRoutes } from './provider-routes.js';

export interface HttpDeps {
  /** The http component's logger; routes log their outcomes here. */
  logger: Logger;
  inbox: Inbox;
  statuses: StatusStore;
  spoolDir: string;
  internal: () => InternalCredentials;
  phaxio: () => PhaxioCredentials;
  sinch: () => SinchCredentials;
  apiKeys: () => readonly string[];
  fileFetch: FetchOptions;
  /** Body limit of the provider routes. */
  providerBodyLimit: number;
  /** Run inside the transaction that creates an inbox record or a status (forwarding). */
  onInboxCreated?: (row: InboxRow) => void;
  onStatusCreated?: (row: StatusRow) => void;
  /** Largest body on the Asterisk route (it may carry `tiff_base64`). */
  asteriskBodyLimit?: number;
  health: () => Record<string, unknown> & { ok: boolean };
  /** Prometheus text for GET /metrics. */
  metrics?: { text: () => Promise<string>; contentType: string; httpRequest: (route: string, status: number) => void };
  /** The clock for signature windows and received times. */
  nowSeconds: () => number;
}

export const DEFAULT_ASTERISK_BODY_LIMIT = 32 * 1024 * 1024;

export function buildServer(deps: HttpDeps): FastifyInstance {
  const log = deps.logger.child({ component: 'http' });
  const app = Fastify({
    // Fastify's own per-request lines are noise for a sysadmin; routes log their outcome themselves.
    loggerInstance: log.child({}, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) log.error({ err: err.message, url: req.routeOptions.url }, 'http.error');
    else log.info({ status, code: err.code, url: req.routeOptions.url }, 'http.refused');
    const detail = status === 413 ? 'Request body is too large' : status >= 500 ? 'Internal Server Error' : err.message;
    return sendDetail(reply, status, detail);
  });
  app.setNotFoundHandler((_req, reply) => sendDetail(reply, 404, 'Not Found'));

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.addHook('onResponse', async (req, reply) => metrics.httpRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode));
    app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  }

  app.get('/healthz', async (_req, reply) => {
    const health = deps.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });
  const scoped = { ...deps, logger: log };
  app.register(asteriskInboundRoutes, scoped);
  app.register(providerRoutes, scoped);
  app.register(inboxRoutes, scoped);
  return app;
}

export function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function sendDetail(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type('application/json').send({ detail });
}
