/**
 * Web sessions, kept server-side: the cookie holds a random id, the table holds its SHA-256
 * (a stolen database yields no usable cookie), the user, a CSRF token, and when it was made and
 * last used. A session ends after 12 h idle or 7 days, at logout, and when the password changes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/db.js';

export const IDLE_MS = 12 * 3600_000;
export const ABSOLUTE_MS = 7 * 24 * 3600_000;

export interface Session {
  user: string;
  csrf: string;
}

interface SessionRow {
  id_hash: string;
  user_name: string;
  csrf: string;
  created_at: number;
  last_seen_at: number;
}

export interface SessionStore {
  create(user: string, now: number): { id: string; session: Session };
  get(id: string | undefined, now: number): Session | undefined;
  destroy(id: string | undefined): void;
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function createSessionStore(db: Db): SessionStore {
  const byId = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id_hash = ?');
  const touch = db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
  const expire = db.prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?');
  return {
    create(user, now) {
      expire.run(now - IDLE_MS, now - ABSOLUTE_MS);
      const id = randomBytes(32).toString('base64url');
      const csrf = randomBytes(32).toString('base64url');
      db.prepare('INSERT INTO sessions (id_hash, user_name, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)').run(hashId(id), user, csrf, now, now);
      return { id, session: { user, csrf } };
    },
    get(id, now) {
      if (!id || id.length > 100) return undefined;
      const row = byId.get(hashId(id));
      if (!row) return undefined;
      if (row.last_seen_at < now - IDLE_MS || row.created_at < now - ABSOLUTE_MS) {
        remove.run(row.id_hash);
        return undefined;
      }
      // Written at most once a minute: a page polling for new faxes is not a write per poll.
      if (now - row.last_seen_at > 60_000) touch.run(now, row.id_hash);
      return { user: row.user_name, csrf: row.csrf };
    },
    destroy(id) {
      if (id) remove.run(hashId(id));
    },
  };
}
