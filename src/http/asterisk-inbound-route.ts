/**
 * `POST /_internal/asterisk/inbound`: secret before the body, signature on the raw bytes,
 * then parse, confine the document, and store it in the inbox before answering 200.
 */
import type { FastifyPluginAsync } from 'fastify';
import { readSpoolFile, SpoolFileError } from '../documents/spool-file.js';
import { isTiffMagic } from '../documents/tiff.js';
import { maskNumber } from '../log/logger.js';
import { checkInternalSecret, checkSignature, isProbe, parseInternalBody } from '../providers/internal.js';
import type { InboxDocument } from '../inbox/store.js';
import { DEFAULT_ASTERISK_BODY_LIMIT, header, sendDetail, type HttpDeps } from './server.js';

export const ASTERISK_INBOUND_PATH = '/_internal/asterisk/inbound';

export const asteriskInboundRoutes: FastifyPluginAsync<HttpDeps> = async (app, deps) => {

  app.post(ASTERISK_INBOUND_PATH, {
    bodyLimit: deps.asteriskBodyLimit ?? DEFAULT_ASTERISK_BODY_LIMIT,
    onRequest: async (req, reply) => {
      const verdict = checkInternalSecret(header(req.headers['x-internal-secret']), deps.internal());
      if (!verdict.ok) {
        deps.logger.warn({ route: ASTERISK_INBOUND_PATH, reason: verdict.message }, 'http.auth_failed');
        return sendDetail(reply, verdict.status, verdict.message);
      }
    },
    handler: async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return sendDetail(reply, 400, 'Content-Type must be application/json');
      }
      const signed = checkSignature(
        {
          id: header(req.headers['webhook-id']),
          timestamp: header(req.headers['webhook-timestamp']),
          signature: header(req.headers['webhook-signature']),
        },
        raw,
        deps.internal(),
        deps.nowSeconds(),
      );
      if (!signed.ok) {
        deps.logger.warn({ route: ASTERISK_INBOUND_PATH, reason: signed.message }, 'http.auth_failed');
        return sendDetail(reply, signed.status, signed.message);
      }
      if (isProbe(raw)) return reply.send({ status: 'probe ok' });
      const parsed = parseInternalBody(raw, signed.value.webhookId);
      if (!parsed.ok) return sendDetail(reply, parsed.status, parsed.message);
      const { fax, document } = parsed.value;

      const existing = deps.inbox.find(fax.source, fax.providerId, fax.webhookId);
      if (existing) {
        deps.logger.info({ id: existing.id, uniqueid: fax.providerId }, 'inbox.duplicate');
        return reply.send({ id: existing.id, status: 'ok' });
      }

      let doc: InboxDocument | null = null;
      if (document.kind === 'inline') {
        doc = { bytes: document.bytes, type: 'tiff' };
      } else if (document.kind === 'spool') {
        try {
          doc = { bytes: (await readSpoolFile(deps.spoolDir, document.path)).bytes, type: 'tiff' };
        } catch (err) {
          if (err instanceof SpoolFileError) return sendDetail(reply, 400, `Invalid tiff_path: ${err.reason}`);
          throw err;
        }
      }
      if (doc && !isTiffMagic(doc.bytes)) return sendDetail(reply, 400, 'Document is not a TIFF');

      const { id, created } = await deps.inbox.store(fax, doc, deps.onInboxCreated);
      deps.logger.info(
        {
          id,
          uniqueid: fax.providerId,
          status: fax.status,
          pages: fax.pages,
          from: maskNumber(fax.from),
          to: maskNumber(fax.to),
          document: doc ? doc.bytes.length : null,
          duplicate: !created,
        },
        'inbox.stored',
      );
      return reply.send({ id, status: 'ok' });
    },
  });
};
