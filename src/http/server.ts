/**
 * The HTTP server, assembled: every body arrives as raw bytes (no parser runs before
 * authentication), size-limited per route; errors are `{"detail": "..."}` like Faxbot's.
 * This file only assembles; no route imports it.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { inboxRoutes, type InboxRoutesOptions } from './inbox-routes.js';
import { providerRoutes, type ProviderRoutesOptions } from './provider-routes.js';
import { matchesAny } from '../signing/constant-time.js';
import { header, sendDetail } from './reply.js';
import { webRoutes, type WebRoutesOptions } from '../web/routes.js';

export interface ServerOptions {
  logger: Logger;
  /** The web inbox, at / (omitted: no web inbox). */
  web?: Omit<WebRoutesOptions, 'logger'>;
  trustProxy?: boolean;
  providers: Omit<ProviderRoutesOptions, 'logger'>;
  inboxApi: Omit<InboxRoutesOptions, 'logger'>;
  health: () => Record<string, unknown> & { ok: boolean };
  /** Prometheus text for GET /metrics. */
  metrics?: {
    text: () => Promise<string>;
    contentType: string;
    httpRequest: (route: string, status: number) => void;
    /** Accepted bearer tokens for GET /metrics; none: open (bind --http-listen to loopback then). */
    tokens: () => readonly string[];
  };
}

export function buildServer(o: ServerOptions): FastifyInstance {
  const log = o.logger.child({ component: 'http' });
  const app = base(log, o.trustProxy);
  if (o.metrics) {
    const metrics = o.metrics;
    app.addHook('onResponse', async (req, reply) => metrics.httpRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode));
    app.get('/metrics', async (req, reply) => {
      const tokens = metrics.tokens();
      const sent = /^Bearer\s+(.+)$/i.exec(header(req.headers.authorization) ?? '')?.[1]?.trim();
      if (tokens.length > 0 && (!sent || !matchesAny(sent, tokens))) return sendDetail(reply, 401, 'GET /metrics needs Authorization: Bearer <FAXBRIDGE_METRICS_TOKEN>');
      return reply.type(metrics.contentType).send(await metrics.text());
    });
  }

  app.get('/healthz', async (_req, reply) => {
    const health = o.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });
  app.register(providerRoutes, { ...o.providers, logger: log });
  app.register(inboxRoutes, { ...o.inboxApi, logger: log });
  if (o.web) app.register(webRoutes, { ...o.web, logger: log.child({ component: 'web' }) });
  return app;
}

/** The web inbox alone, for --web-listen: none of the webhook, internal or API routes. */
export function buildWebServer(o: { logger: Logger; web: Omit<WebRoutesOptions, 'logger'>; trustProxy?: boolean }): FastifyInstance {
  const log = o.logger.child({ component: 'web' });
  const app = base(log, o.trustProxy);
  app.register(webRoutes, { ...o.web, logger: log });
  return app;
}

function base(log: Logger, trustProxy = false): FastifyInstance {
  const app = Fastify({
    trustProxy,
    // A client that stops reading, or sends slowly, is cut off; a pipelining client gets at most
    // 100 answers per connection, so unread responses cannot pile up in memory.
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
    requestTimeout: 120_000,
    maxRequestsPerSocket: 100,
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
  return app;
}
