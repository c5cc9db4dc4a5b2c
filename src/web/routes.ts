/**
 * The web inbox, as one encapsulated fastify plugin: login with server-side sessions, the fax
 * list and viewer, sent-fax statuses, and the documents, each checked against what the user
 * may see (another DID's fax is a 404, never its bytes). Every state change needs the session's
 * CSRF token; the CSP allows no inline script; pages render in the browser with pdf.js, served
 * from here (the box may have no internet).
 */
import { readFile, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { matchesAnyPattern } from '../domain/number-pattern.js';
import { documentAs, documentErrorStatus } from '../inbox/export.js';
import type { StatusStore } from '../inbox/statuses.js';
import { cursorAfter, type Inbox, type InboxFilter, type InboxRow } from '../inbox/store.js';
import { safeEqual } from '../signing/constant-time.js';
import type { Db } from '../store/db.js';
import { faxRow, listPage, loginPage, outboundPage, viewerPage } from './pages.js';
import { createSessionStore, IDLE_MS, type Session } from './sessions.js';
import { createUserStore, type User } from './users.js';

export interface WebRoutesOptions {
  db: Db;
  inbox: Inbox;
  statuses: StatusStore;
  /** Cookies are Secure when the request came over https: the public URL says so, or a trusted proxy. */
  publicUrl: string | undefined;
  trustProxy: boolean;
  now: () => Date;
  logger: Logger;
}

const COOKIE = 'faxbridge_session';
const here = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC = path.resolve(here, '..', '..', '..', 'public');
const PDFJS = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const STATIC: Record<string, { file: string; type: string }> = {
  'app.js': { file: path.join(PUBLIC, 'app.js'), type: 'text/javascript' },
  'style.css': { file: path.join(PUBLIC, 'style.css'), type: 'text/css' },
  'pdf.min.mjs': { file: path.join(PDFJS, 'build', 'pdf.min.mjs'), type: 'text/javascript' },
  'pdf.worker.min.mjs': { file: path.join(PDFJS, 'build', 'pdf.worker.min.mjs'), type: 'text/javascript' },
};

declare module 'fastify' {
  interface FastifyRequest {
    web?: { session: Session; user: User; sessionId: string };
  }
}

export const webRoutes: FastifyPluginAsync<WebRoutesOptions> = async (app, o) => {
  const users = createUserStore(o.db);
  const sessions = createSessionStore(o.db);
  const log = o.logger;
  const reads = {
    has: o.db.prepare<[string, string], { n: number }>('SELECT 1 AS n FROM fax_reads WHERE user_name = ? AND fax_id = ?'),
    mark: o.db.prepare('INSERT OR IGNORE INTO fax_reads (user_name, fax_id, read_at) VALUES (?, ?, ?)'),
    unmark: o.db.prepare('DELETE FROM fax_reads WHERE user_name = ? AND fax_id = ?'),
  };

  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        workerSrc: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // The PDF link opens in the browser's own viewer, which a strict COEP would block.
    crossOriginEmbedderPolicy: false,
  });
  await app.register(rateLimit, { global: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const secure = (req: FastifyRequest) => o.publicUrl?.startsWith('https:') || (o.trustProxy && String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() === 'https');

  async function load(req: FastifyRequest): Promise<FastifyRequest['web']> {
    const id = req.cookies[COOKIE];
    const session = sessions.get(id, o.now().getTime());
    const user = session ? users.get(session.user) : undefined;
    return session && user && id ? { session, user, sessionId: id } : undefined;
  }

  /** Pages send a browser to /login; the JSON and documents answer 401. */
  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    req.web = await load(req);
    if (!req.web) return reply.redirect('/login', 303);
  };
  const api = async (req: FastifyRequest, reply: FastifyReply) => {
    req.web = await load(req);
    if (!req.web) return reply.code(401).type('application/json').send({ detail: 'Log in first' });
  };
  const csrf = async (req: FastifyRequest, reply: FastifyReply) => {
    const sent = (req.body as Record<string, string> | undefined)?.['_csrf'] ?? req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !req.web || !safeEqual(sent, req.web.session.csrf)) {
      log.warn({ route: req.routeOptions.url, user: req.web?.user.name }, 'web.csrf_refused');
      return reply.code(403).type('text/plain').send('Forbidden: this form is out of date; reload the page and try again.');
    }
  };
  const html = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

  /** The fax, if this user may see it; otherwise nothing, as if it did not exist. */
  function visible(user: User, id: string): InboxRow | undefined {
    const row = o.inbox.get(id);
    if (!row || row.deleted_at) return undefined;
    return user.dids === null || matchesAnyPattern(user.dids, row.to_number) ? row : undefined;
  }

  for (const [name, asset] of Object.entries(STATIC)) {
    app.get(`/static/${name}`, async (_req, reply) => reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(await readFile(asset.file)));
  }

  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.get('/login', async (req, reply) => {
    if (await load(req)) return reply.redirect('/', 303);
    return html(reply, loginPage({}));
  });

  // Per IP: @fastify/rate-limit. Per user name: failures only, counted here (the plugin applies
  // one limiter per request, so it cannot also key the same route by the name typed).
  const failures = new Map<string, { n: number; until: number }>();
  const FAILURES_PER_USER = 10;
  const FAILURE_WINDOW_MS = 15 * 60_000;
  const tooManyFailures = (name: string, now: number) => {
    const f = failures.get(name);
    if (f && f.until < now) failures.delete(name);
    return (failures.get(name)?.n ?? 0) >= FAILURES_PER_USER;
  };
  const failed = (name: string, now: number) => {
    const f = failures.get(name) ?? { n: 0, until: now + FAILURE_WINDOW_MS };
    f.n++;
    failures.delete(name);
    failures.set(name, f);
    if (failures.size > 10_000) failures.delete(failures.keys().next().value!);
  };

  app.post(
    '/login',
    {
      config: { rateLimit: { max: 30, timeWindow: '15 minutes' } },
      errorHandler: (err, _req, reply) => {
        if ((err as { statusCode?: number }).statusCode === 429) return html(reply, loginPage({ error: 'Too many attempts. Wait a few minutes and try again.' }), 429);
        throw err;
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, string>;
      const username = String(body['username'] ?? '').trim().slice(0, 64);
      const key = username.toLowerCase();
      const now = o.now().getTime();
      if (tooManyFailures(key, now)) {
        log.warn({ user: username, ip: req.ip }, 'web.login_throttled');
        return html(reply, loginPage({ error: 'Too many attempts. Wait a few minutes and try again.', username }), 429);
      }
      const user = username ? await users.verify(username, String(body['password'] ?? '')) : undefined;
      if (!user) {
        failed(key, now);
        log.warn({ user: username, ip: req.ip }, 'web.login_failed');
        return html(reply, loginPage({ error: 'Wrong user name or password.', username }), 401);
      }
      failures.delete(key);
      const { id } = sessions.create(user.name, now);
      log.info({ user: user.name }, 'web.login');
      reply.setCookie(COOKIE, id, { path: '/', httpOnly: true, sameSite: 'strict', secure: secure(req), maxAge: IDLE_MS / 1000 });
      return reply.redirect('/', 303);
    },
  );

  app.post('/logout', { preHandler: [page, csrf] }, async (req, reply) => {
    sessions.destroy(req.web!.sessionId);
    reply.clearCookie(COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });

  function listFilter(q: Record<string, string | undefined>, user: User): InboxFilter {
    const day = (v: string | undefined, plus = 0) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(new Date(`${v}T00:00:00`).getTime() + plus).toISOString() : undefined);
    return {
      number: q['number']?.replace(/\D/g, '') || undefined,
      since: day(q['from']),
      until: day(q['to'], 86_400_000),
      status: q['status'] === 'received' || q['status'] === 'failed' ? q['status'] : undefined,
      dids: user.dids ?? undefined,
    };
  }

  function unreadOf(user: User, rows: InboxRow[]): Set<string> {
    return new Set(rows.filter((r) => !reads.has.get(user.name, r.id)).map((r) => r.id));
  }

  /** The faxes this user may see and has not opened. */
  function unreadCount(user: User): number {
    return o.inbox.count({ dids: user.dids ?? undefined, unreadBy: user.name });
  }

  app.get('/', { preHandler: page }, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const user = req.web!.user;
    const filter = listFilter(q, user);
    const rows = o.inbox.list({ ...filter, after: typeof q['cursor'] === 'string' ? q['cursor'] : undefined, limit: 50 });
    const last = rows.at(-1);
    return html(
      reply,
      listPage(
        {
          rows,
          unread: unreadOf(user, rows),
          unreadCount: unreadCount(user),
          total: o.inbox.count(filter),
          next: rows.length === 50 && last ? cursorAfter(last) : undefined,
          filter: { number: q['number'], from: q['from'], to: q['to'], status: filter.status },
        },
        user.name,
        req.web!.session.csrf,
      ),
    );
  });

  /** What the open list page polls: rows newer than the newest it shows, and the unread count. */
  app.get('/web/api/updates', { preHandler: api }, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const user = req.web!.user;
    const newest = typeof q['newest'] === 'string' ? q['newest'] : '';
    const rows = o.inbox.list({ ...listFilter(q, user), limit: 50 }).filter((r) => cursorAfter(r) > newest);
    const unread = unreadOf(user, rows);
    return reply.header('cache-control', 'no-store').send({ unread: unreadCount(user), rows: rows.map((r) => ({ id: r.id, cursor: cursorAfter(r), html: faxRow(r, unread.has(r.id)) })) });
  });

  app.get('/fax/:id', { preHandler: page }, async (req, reply) => {
    const user = req.web!.user;
    const row = visible(user, (req.params as { id: string }).id);
    if (!row) return html(reply, '<!doctype html><title>Not found</title><p>No such fax. <a href="/">Back to the faxes</a></p>', 404);
    // Opening a fax is reading it.
    reads.mark.run(user.name, row.id, o.now().toISOString());
    return html(reply, viewerPage(row, false, user.name, req.web!.session.csrf));
  });

  for (const action of ['read', 'unread', 'delete'] as const) {
    app.post(`/fax/:id/${action}`, { preHandler: [page, csrf] }, async (req, reply) => {
      const user = req.web!.user;
      const row = visible(user, (req.params as { id: string }).id);
      if (!row) return reply.code(404).type('text/plain').send('No such fax');
      if (action === 'read') reads.mark.run(user.name, row.id, o.now().toISOString());
      if (action === 'unread') reads.unmark.run(user.name, row.id);
      if (action === 'delete') {
        // Kept as a record, marked deleted; the document goes, as retention would remove it.
        if (row.document_path) await unlink(row.document_path).catch(() => {});
        o.inbox.markDeleted(row.id, o.now());
        log.info({ id: row.id, user: user.name }, 'web.fax_deleted');
        return reply.redirect('/', 303);
      }
      // Back to the list: the viewer would mark the fax read again on opening.
      return reply.redirect('/', 303);
    });
  }

  for (const as of ['pdf', 'tiff'] as const) {
    app.get(`/web/fax/:id/${as}`, { preHandler: api }, async (req, reply) => {
      const user = req.web!.user;
      const row = visible(user, (req.params as { id: string }).id);
      if (!row) return reply.code(404).type('application/json').send({ detail: 'No such fax' });
      let bytes: Buffer;
      try {
        bytes = await documentAs(row, as);
      } catch (err) {
        const known = documentErrorStatus(err);
        if (known) return reply.code(known.status).type('application/json').send({ detail: known.message });
        throw err;
      }
      const download = as === 'tiff' || (req.query as Record<string, string>)['download'] !== undefined;
      return reply
        .type(as === 'pdf' ? 'application/pdf' : 'image/tiff')
        .header('cache-control', 'private, no-store')
        .header('content-disposition', `${download ? 'attachment' : 'inline'}; filename="fax-${row.id}.${as}"`)
        .send(bytes);
    });
  }

  app.get('/outbound', { preHandler: page }, async (req, reply) => {
    const jobs = o.statuses.jobs(100);
    const histories = new Map(jobs.map((j) => [j.job_id, o.statuses.history(j.job_id)]));
    return html(reply, outboundPage(jobs, histories, req.web!.user.name, req.web!.session.csrf));
  });
};
