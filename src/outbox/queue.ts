/**
 * The outbox table: one row per (event, target), with its retry state persisted so a restart
 * resumes the schedule instead of resetting it.
 */
import type { Db } from '../store/db.js';

export type OutboxState = 'pending' | 'delivered' | 'dead';

/**
 * Stored instead of a URL for Asterisk events: the configured `--target` (or this daemon's own
 * receiver) as it is when the attempt is made, so a changed target or an HTTP port picked at
 * start-up does not strand the rows queued before it.
 */
export const PRIMARY_TARGET = '@primary';

export interface OutboxRow {
  id: number;
  event_key: string;
  target: string;
  webhook_id: string;
  body: string;
  tiff_path: string | null;
  tiff_sha256: string | null;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  response_id: string | null;
  delivered_at: number | null;
}

export interface NewOutboxItem {
  eventKey: string;
  target: string;
  webhookId: string;
  body: string;
  tiffPath: string | null;
  tiffSha256: string | null;
}

export interface AttemptOutcome {
  status: number | null;
  error: string | null;
  response: string | null;
}

export interface Outbox {
  /** Inserts once per (event, target); `created` is false for a duplicate. Synchronous: run it inside a commit. */
  enqueue(item: NewOutboxItem, now: number): { id: number; created: boolean };
  has(eventKey: string, target: string): boolean;
  due(now: number, limit: number): OutboxRow[];
  nextDueAt(): number | undefined;
  markDelivered(id: number, outcome: AttemptOutcome & { responseId: string | null }, now: number): void;
  markRetry(id: number, outcome: AttemptOutcome, nextAttemptAt: number, now: number): void;
  markDead(id: number, outcome: AttemptOutcome, now: number): void;
  get(id: number): OutboxRow | undefined;
  list(state?: OutboxState, limit?: number): OutboxRow[];
  /** Puts dead (or pending) rows back to be sent now; returns how many. */
  retry(ids: readonly number[] | 'all-dead', now: number): number;
  counts(targetPrefix?: string): { pending: number; delivered: number; dead: number; oldestPendingAt: number | undefined };
}

export function createOutbox(db: Db): Outbox {
  const insert = db.prepare(
    `INSERT INTO outbox (event_key, target, webhook_id, body, tiff_path, tiff_sha256, next_attempt_at, created_at, updated_at)
     VALUES (@eventKey, @target, @webhookId, @body, @tiffPath, @tiffSha256, @now, @now, @now)
     ON CONFLICT (event_key, target) DO NOTHING`,
  );
  const byKey = db.prepare<[string, string], { id: number }>('SELECT id FROM outbox WHERE event_key = ? AND target = ?');
  const due = db.prepare<[number, number], OutboxRow>(
    `SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
  );
  const nextDue = db.prepare<[], { at: number | null }>(`SELECT MIN(next_attempt_at) AS at FROM outbox WHERE state = 'pending'`);
  const delivered = db.prepare(
    `UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_status = @status, last_error = @error,
       last_response = @response, response_id = @responseId, delivered_at = @now, updated_at = @now WHERE id = @id`,
  );
  const retry = db.prepare(
    `UPDATE outbox SET attempts = attempts + 1, last_status = @status, last_error = @error, last_response = @response,
       next_attempt_at = @next, updated_at = @now WHERE id = @id`,
  );
  const dead = db.prepare(
    `UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_status = @status, last_error = @error,
       last_response = @response, updated_at = @now WHERE id = @id`,
  );
  const get = db.prepare<[number], OutboxRow>('SELECT * FROM outbox WHERE id = ?');
  const listAll = db.prepare<[number], OutboxRow>('SELECT * FROM outbox ORDER BY id DESC LIMIT ?');
  const listState = db.prepare<[string, number], OutboxRow>('SELECT * FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?');
  const requeue = db.prepare(
    `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
     WHERE id = @id AND state != 'delivered'`,
  );
  const requeueDead = db.prepare(
    `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now WHERE state = 'dead'`,
  );
  const counts = db.prepare<[string], { state: OutboxState; n: number; oldest: number | null }>(
    `SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE target LIKE ? ESCAPE '\\' GROUP BY state`,
  );

  return {
    enqueue(item, now) {
      const info = insert.run({ ...item, now });
      if (info.changes === 1) return { id: Number(info.lastInsertRowid), created: true };
      return { id: byKey.get(item.eventKey, item.target)!.id, created: false };
    },
    has: (eventKey, target) => byKey.get(eventKey, target) !== undefined,
    due: (now, limit) => due.all(now, limit),
    nextDueAt: () => nextDue.get()?.at ?? undefined,
    markDelivered: (id, o, now) => void delivered.run({ id, now, ...o }),
    markRetry: (id, o, next, now) => void retry.run({ id, now, next, ...o }),
    markDead: (id, o, now) => void dead.run({ id, now, ...o }),
    get: (id) => get.get(id),
    list: (state, limit = 100) => (state ? listState.all(state, limit) : listAll.all(limit)),
    retry(ids, now) {
      if (ids === 'all-dead') return requeueDead.run({ now }).changes;
      return db.transaction(() => ids.reduce((n, id) => n + requeue.run({ id, now }).changes, 0))();
    },
    counts(targetPrefix = '') {
      const out = { pending: 0, delivered: 0, dead: 0, oldestPendingAt: undefined as number | undefined };
      for (const row of counts.all(`${targetPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)) {
        out[row.state] = row.n;
        if (row.state === 'pending') out.oldestPendingAt = row.oldest ?? undefined;
      }
      return out;
    },
  };
}
