/**
 * The inbox API: `GET /inbound` (filters, pages), `/inbound/:id`, `/inbound/:id/tiff`,
 * `/inbound/:id/pdf`, and `GET /jobs/:job_id` for outbound statuses. API key required
 * (`Authorization: Bearer` or `X-API-Key`), compared in constant time.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { documentAs, documentErrorStatus } from '../inbox/export.js';
import type { StatusStore } from '../inbox/statuses.js';
import { cursorAfter, inboxView as view, type Inbox } from '../inbox/store.js';
import { matchesAny } from '../signing/constant-time.js';
import { header, sendDetail } from './reply.js';

export interface InboxRoutesOptions {
  inbox: Inbox;
  statuses: StatusStore;
  /** Accepted API keys, as they are now (they rotate). */
  apiKeys: () => readonly string[];
  logger: Logger;
}

export const inboxRoutes: FastifyPluginAsync<InboxRoutesOptions> = async (app, deps) => {
  app.addHook('onRequest', async (req, reply) => {
    const bearer = /^Bearer\s+(.+)$/i.exec(header(req.headers.authorization) ?? '')?.[1];
    const key = bearer ?? header(req.headers['x-api-key']);
    if (!key || !matchesAny(key.trim(), deps.apiKeys())) {
      deps.logger.warn({ route: req.routeOptions.url }, 'http.auth_failed');
      return sendDetail(reply, 401, 'Invalid or missing API key (Authorization: Bearer or X-API-Key)');
    }
  });

  app.get('/inbound', async (req, reply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    const repeated = ['to', 'status', 'since', 'cursor', 'limit'].find((k) => Array.isArray(q[k]));
    if (repeated) return sendDetail(reply, 400, `${repeated} may be given once`);
    return list(q as Record<string, string | undefined>, reply);
  });

  function list(q: Record<string, string | undefined>, reply: FastifyReply) {
    const limit = q['limit'] === undefined ? 50 : Number(q['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return sendDetail(reply, 400, 'limit must be 1 to 500');
    if (q['since'] !== undefined && Number.isNaN(Date.parse(q['since']))) return sendDetail(reply, 400, 'since must be an ISO 8601 time');
    const rows = deps.inbox.list({
      withDeleted: true,
      to: q['to'],
      status: q['status'],
      since: q['since'] === undefined ? undefined : new Date(q['since']).toISOString(),
      limit,
      after: q['cursor'],
    });
    const last = rows.at(-1);
    return reply.send({
      items: rows.map(view),
      next_cursor: rows.length === limit && last ? cursorAfter(last) : null,
    });
  }

  app.get('/inbound/:id', async (req, reply) => {
    const row = deps.inbox.get((req.params as { id: string }).id);
    return row ? reply.send(view(row)) : sendDetail(reply, 404, 'No such fax');
  });

  for (const as of ['tiff', 'pdf'] as const) {
    app.get(`/inbound/:id/${as}`, async (req, reply) => {
      const row = deps.inbox.get((req.params as { id: string }).id);
      if (!row) return sendDetail(reply, 404, 'No such fax');
      try {
        const bytes = await documentAs(row, as);
        return reply
          .type(as === 'pdf' ? 'application/pdf' : 'image/tiff')
          .header('content-disposition', `attachment; filename="fax-${row.id}.${as}"`)
          .send(bytes);
      } catch (err) {
        const known = documentErrorStatus(err);
        if (known) return sendDetail(reply, known.status, known.message);
        throw err;
      }
    });
  }

  app.get('/jobs/:jobId', async (req, reply) => {
    const jobId = (req.params as { jobId: string }).jobId;
    const current = deps.statuses.current(jobId);
    if (!current) return sendDetail(reply, 404, 'No status for this job');
    return reply.send({ job_id: jobId, status: current.status, current, history: deps.statuses.history(jobId) });
  });
};
