/** Replies every route shares: errors are `{"detail": "..."}`, like Faxbot's. */
import type { FastifyReply } from 'fastify';

export { header } from '../providers/route.js';

export function sendDetail(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type('application/json').send({ detail });
}
