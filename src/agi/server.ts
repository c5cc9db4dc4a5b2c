/**
 * FastAGI server: routes by script path, caps concurrent sessions, and always releases the socket.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { AgiClosedError, AgiError, AgiTimeoutError } from './errors.js';
import { DEFAULT_TIMEOUTS, openAgiSession, type AgiSession, type AgiTimeouts } from './session.js';

export type AgiRoute = (session: AgiSession) => Promise<void>;

/**
 * A FastAGI session costs a few KB, so the cap is not about capacity: it bounds what a flood of
 * connections can hold. A real box (a few dozen fax lines) never reaches it.
 */
export const DEFAULT_MAX_SESSIONS = 4096;

export interface AgiServerOptions {
  host: string;
  port: number;
  routes: Readonly<Record<string, AgiRoute>>;
  logger: Logger;
  maxSessions?: number;
  timeouts?: Partial<AgiTimeouts>;
  maxLineBytes?: number;
}

export interface AgiServerStats {
  active: number;
  sessions: number;
  rejected: number;
  timeouts: number;
  errors: number;
}

export interface AgiServer {
  listen(): Promise<AddressInfo>;
  address(): AddressInfo | undefined;
  stats(): AgiServerStats;
  /** Stops accepting, lets running sessions finish for up to `drainMs`, then destroys the rest. */
  close(options?: { drainMs?: number }): Promise<void>;
}

export function createAgiServer(options: AgiServerOptions): AgiServer {
  const timeouts: AgiTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const maxSessions = options.maxSessions ?? 4096;
  const log = options.logger;
  const sockets = new Set<Socket>();
  const running = new Set<Promise<void>>();
  const stats: AgiServerStats = { active: 0, sessions: 0, rejected: 0, timeouts: 0, errors: 0 };
  const lastSaid = new Map<string, { at: number; suppressed: number }>();
  /** A warning a flood would repeat thousands of times: said at most once a minute, with how many were not. */
  function once(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const last = lastSaid.get(msg);
    if (last && now - last.at < 60_000) return void last.suppressed++;
    log.warn({ ...fields, suppressed: last?.suppressed ?? 0 }, msg);
    lastSaid.set(msg, { at: now, suppressed: 0 });
  }

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {}); // reported through the session; never fatal to the process
    if (stats.active >= maxSessions) {
      stats.rejected++;
      once('agi.rejected', { max_sessions: maxSessions, rejected: stats.rejected });
      socket.end('FAILURE\n');
      setTimeout(() => socket.destroy(), timeouts.closeGraceMs).unref();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const done = runSession(socket).finally(() => running.delete(done));
    running.add(done);
  });

  async function runSession(socket: Socket): Promise<void> {
    stats.active++;
    stats.sessions++;
    const started = process.hrtime.bigint();
    let session: AgiSession | undefined;
    try {
      session = await openAgiSession(socket, {
        timeouts,
        logger: log,
        maxLineBytes: options.maxLineBytes,
        onTimeout: () => stats.timeouts++,
      });
      const route = options.routes[session.script];
      if (!route) {
        session.log.warn({ script: session.script }, 'agi.unknown_route');
        await session.verbose(`faxbridge: no AGI script named ${session.script}`).catch(() => {});
        await session.fail();
        return;
      }
      // A route stuck past the session deadline is abandoned: the deadline has closed the socket.
      await Promise.race([route(session), session.ended]);
    } catch (err) {
      if (!(err instanceof AgiTimeoutError)) stats.errors++;
      if (!session) {
        // Before a header there is no fax yet: idle or junk connections are counted, and said once a minute.
        once('agi.connection_refused', { err: describe(err), timeouts: stats.timeouts, errors: stats.errors });
        return;
      }
      const level = err instanceof AgiClosedError ? 'info' : 'warn';
      session.log[level]({ err: describe(err), remote: socket.remoteAddress }, 'agi.session_error');
    } finally {
      if (session) await session.close();
      else socket.destroy();
      stats.active--;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      (session?.log ?? log).debug({ duration_ms: Math.round(ms * 10) / 10 }, 'agi.session_end');
    }
  }

  return {
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    address() {
      return (server.address() as AddressInfo | null) ?? undefined;
    },
    stats() {
      return { ...stats };
    },
    async close({ drainMs = 3000 } = {}) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      if (running.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
        await Promise.race([Promise.allSettled([...running]), grace]);
        clearTimeout(timer);
      }
      for (const s of sockets) s.destroy();
      await stopped;
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof AgiError) return `${err.name}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
