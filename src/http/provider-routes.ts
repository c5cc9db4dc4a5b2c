/**
 * Runs every provider route the same way (reference/providers.md §5): header credentials before
 * the body, verification and parsing on the raw bytes, then the document, then a durable store,
 * and only then 2xx. A replay is answered like the original and fetches and stores nothing.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { readIncomingDocument, type IncomingOptions } from '../documents/incoming.js';
import type { Ingest } from '../inbox/ingest.js';
import { maskNumber } from '../log/logger.js';
import type { ProviderEvent } from '../providers/events.js';
import type { ProviderRoute, RequestParts } from '../providers/route.js';
import { sendDetail } from './reply.js';

export interface ProviderRoutesOptions {
  routes: readonly ProviderRoute[];
  ingest: Ingest;
  documents: IncomingOptions;
  /** Body limit of routes that do not set their own. */
  bodyLimit: number;
  now: () => Date;
  logger: Logger;
}

export const providerRoutes: FastifyPluginAsync<ProviderRoutesOptions> = async (app, o) => {
  const log = o.logger;

  function refuse(reply: FastifyReply, route: string, status: number, message: string): FastifyReply {
    if (status === 401) log.warn({ route, reason: message }, 'http.auth_failed');
    else log.info({ route, status, reason: message }, 'http.refused');
    return sendDetail(reply, status, message);
  }

  for (const route of o.routes) {
    app.post(route.path, {
      bodyLimit: route.bodyLimit ?? o.bodyLimit,
      onRequest: async (req, reply) => {
        const verdict = route.checkHeaders(parts(req));
        if (!verdict.ok) return refuse(reply, route.path, verdict.status, verdict.message);
      },
      handler: async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const event = route.receive(parts(req), raw, o.now());
        if (!event.ok) return refuse(reply, route.path, event.status, event.message);
        return store(reply, route, event.value);
      },
    });
  }

  async function store(reply: FastifyReply, route: ProviderRoute, event: ProviderEvent): Promise<FastifyReply> {
    switch (event.kind) {
      case 'probe':
        return reply.send({ status: 'probe ok' });
      case 'ignored':
        log.info({ route: route.path, reason: event.reason }, 'provider.ignored');
        return reply.send({ status: 'ignored' });
      case 'outbound_status': {
        const s = event.status;
        const { created, current } = await o.ingest.recordStatus(s);
        if (current.provider_fax_id !== s.providerFaxId) {
          log.warn({ route: route.path, job_id: s.jobId, fax_id: s.providerFaxId, job_fax_id: current.provider_fax_id }, 'status.fax_id_mismatch');
        }
        log.info(
          { route: route.path, provider: s.provider, job_id: s.jobId, fax_id: s.providerFaxId, event: s.event, status: s.status, current: current.status, duplicate: !created },
          'status.recorded',
        );
        return reply.send({ status: 'ok' });
      }
      case 'inbound_fax': {
        const { fax } = event;
        // A replay that would fetch a file_url is answered before fetching; any other document is
        // read first, so that ingest can tell a replay from another fax under the same key.
        const existing = event.document.kind === 'url' || event.document.kind === 'none' ? o.ingest.existing(fax) : undefined;
        if (existing) {
          log.info({ route: route.path, id: existing.id, provider_id: fax.providerId }, 'inbox.duplicate');
          return reply.send({ id: existing.id, status: 'ok' });
        }
        const document = await readIncomingDocument(event.document, route.accepts, o.documents);
        if (!document.ok) {
          if (document.status === 502) log.error({ route: route.path, provider_id: fax.providerId, err: document.message }, 'provider.document_fetch_failed');
          return refuse(reply, route.path, document.status, document.message);
        }
        const { id, created, conflict } = await o.ingest.receiveFax(fax, document.document);
        log.info(
          {
            route: route.path,
            id,
            source: fax.source,
            provider_id: fax.providerId,
            status: fax.status,
            pages: fax.pages,
            from: maskNumber(fax.from),
            to: maskNumber(fax.to),
            document: document.document?.bytes.length ?? null,
            duplicate: !created,
            conflicts_with: conflict,
          },
          'inbox.stored',
        );
        return reply.send({ id, status: 'ok' });
      }
    }
  }
};

function parts(req: FastifyRequest): RequestParts {
  return { headers: req.headers, url: req.url, query: (req.query ?? {}) as Record<string, unknown> };
}
