/**
 * `/phaxio-callback`, `/phaxio-inbound`, `/sinch-inbound`: header credentials before the body,
 * signatures on the raw bytes, then parse, then store durably, then 2xx (reference/providers.md §5).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { documentType } from '../documents/document-type.js';
import { maskNumber } from '../log/logger.js';
import type { ProviderEvent } from '../providers/events.js';
import { fetchDocument, FileUrlFailedError, FileUrlRefusedError } from '../providers/file-url.js';
import { parsePhaxioCallback, parsePhaxioInbound, phaxioScheme, signatureHeader, verifyPhaxio } from '../providers/phaxio.js';
import { checkSinchHeaders, parseSinch, verifySinchSignature } from '../providers/sinch.js';
import type { InboxDocument } from '../inbox/store.js';
import { header, sendDetail, type HttpDeps } from './server.js';

export const providerRoutes: FastifyPluginAsync<HttpDeps> = async (app, deps) => {
  const log = deps.logger;
  const now = () => new Date(deps.nowSeconds() * 1000);
  const bodyLimit = deps.providerBodyLimit;

  function refuse(reply: FastifyReply, route: string, status: 400 | 401, message: string): FastifyReply {
    if (status === 401) log.warn({ route, reason: message }, 'http.auth_failed');
    else log.info({ route, status, reason: message }, 'http.refused');
    return sendDetail(reply, status, message);
  }

  const phaxioOnRequest = async (req: FastifyRequest, reply: FastifyReply) => {
    const scheme = phaxioScheme(signatureHeader(req.headers), deps.phaxio());
    if (!scheme.ok) return refuse(reply, req.routeOptions.url ?? '', scheme.status, scheme.message);
  };

  async function phaxio(req: FastifyRequest, reply: FastifyReply, parse: typeof parsePhaxioInbound | 'callback') {
    const route = req.routeOptions.url ?? '';
    const creds = deps.phaxio();
    const signature = signatureHeader(req.headers)!;
    const scheme = phaxioScheme(signature, creds);
    if (!scheme.ok) return refuse(reply, route, scheme.status, scheme.message);
    const raw = rawBody(req);
    const contentType = req.headers['content-type'];
    const verified = verifyPhaxio(scheme.value, signature, raw, contentType, req.url, creds);
    if (!verified.ok) return refuse(reply, route, verified.status, verified.message);
    const event =
      parse === 'callback'
        ? parsePhaxioCallback(scheme.value, raw, contentType, verified.value, jobIdOf(req), now())
        : parse(scheme.value, raw, contentType, verified.value, now());
    if (!event.ok) return refuse(reply, route, event.status, event.message);
    return store(reply, route, event.value);
  }

  app.post('/phaxio-callback', { bodyLimit, onRequest: phaxioOnRequest }, (req, reply) => phaxio(req, reply, 'callback'));
  app.post('/phaxio-inbound', { bodyLimit, onRequest: phaxioOnRequest }, (req, reply) => phaxio(req, reply, parsePhaxioInbound));

  app.post('/sinch-inbound', {
    bodyLimit,
    onRequest: async (req, reply) => {
      const verdict = checkSinchHeaders(header(req.headers.authorization), header(req.headers['x-sinch-signature']), deps.sinch());
      if (!verdict.ok) return refuse(reply, '/sinch-inbound', verdict.status, verdict.message);
    },
    handler: async (req, reply) => {
      const raw = rawBody(req);
      const signed = verifySinchSignature(raw, header(req.headers['x-sinch-signature']), deps.sinch());
      if (!signed.ok) return refuse(reply, '/sinch-inbound', signed.status, signed.message);
      const event = parseSinch(raw, req.headers['content-type'], now());
      if (!event.ok) return refuse(reply, '/sinch-inbound', event.status, event.message);
      return store(reply, '/sinch-inbound', event.value);
    },
  });

  async function store(reply: FastifyReply, route: string, event: ProviderEvent): Promise<FastifyReply> {
    if (event.kind === 'ignored') {
      log.info({ route, reason: event.reason }, 'provider.ignored');
      return reply.send({ status: 'ignored' });
    }
    if (event.kind === 'outbound_status') {
      const s = event.status;
      const { created, current } = deps.statuses.record(s, deps.onStatusCreated);
      if (current.provider_fax_id !== s.providerFaxId) {
        log.warn({ route, job_id: s.jobId, fax_id: s.providerFaxId, job_fax_id: current.provider_fax_id }, 'status.fax_id_mismatch');
      }
      log.info(
        { route, provider: s.provider, job_id: s.jobId, fax_id: s.providerFaxId, event: s.event, status: s.status, current: current.status, duplicate: !created },
        'status.recorded',
      );
      return reply.send({ status: 'ok' });
    }

    const { fax, document } = event;
    const existing = deps.inbox.find(fax.source, fax.providerId);
    if (existing) {
      log.info({ route, id: existing.id, provider_id: fax.providerId }, 'inbox.duplicate');
      return reply.send({ id: existing.id, status: 'ok' });
    }
    let doc: InboxDocument | null = null;
    if (document.kind === 'inline') {
      const type = documentType(document.bytes);
      if (!type) return refuse(reply, route, 400, 'The attached document is neither a PDF nor a TIFF');
      doc = { bytes: document.bytes, type };
    } else if (document.kind === 'url') {
      try {
        const bytes = await fetchDocument(document.url, deps.fileFetch);
        doc = { bytes, type: documentType(bytes)! };
      } catch (err) {
        if (err instanceof FileUrlRefusedError) return refuse(reply, route, 400, err.message);
        if (err instanceof FileUrlFailedError) {
          log.error({ route, provider_id: fax.providerId, err: err.message }, 'provider.document_fetch_failed');
          return sendDetail(reply, 502, `Could not fetch the document: ${err.message}`);
        }
        throw err;
      }
    }
    const { id, created } = await deps.inbox.store(fax, doc, deps.onInboxCreated);
    log.info(
      { route, id, source: fax.source, provider_id: fax.providerId, status: fax.status, pages: fax.pages, from: maskNumber(fax.from), to: maskNumber(fax.to), document: doc?.bytes.length ?? null, duplicate: !created },
      'inbox.stored',
    );
    return reply.send({ id, status: 'ok' });
  }
};

function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function jobIdOf(req: FastifyRequest): string | undefined {
  const q = (req.query as Record<string, unknown> | undefined)?.['job_id'];
  return typeof q === 'string' && q.trim() ? q.trim() : undefined;
}
