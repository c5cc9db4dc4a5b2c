/**
 * Outbound fax statuses: an append-only history per job, one row per distinct provider event,
 * so a replay adds nothing and a late in-progress event never hides a final one.
 */
import { FINAL_STATUSES, type OutboundStatus } from '../domain/fax.js';
import type { Db } from '../store/db.js';

export interface StatusRow {
  id: number;
  provider: string;
  job_id: string;
  provider_fax_id: string;
  event: string;
  status: string;
  provider_status: string | null;
  pages: number | null;
  error_type: string | null;
  error_code: string | null;
  error_message: string | null;
  received_at: string;
}

export interface StatusStore {
  /** Records once; `onCreated` runs inside the same transaction. */
  record(s: OutboundStatus, onCreated?: (row: StatusRow) => void): { created: boolean; current: StatusRow };
  /** The job's status: its latest final event if it has one, else its latest event. */
  current(jobId: string): StatusRow | undefined;
  history(jobId: string): StatusRow[];
  /** Jobs by their latest event, newest first, each with its current status. */
  jobs(limit: number): StatusRow[];
}

export function createStatusStore(db: Db): StatusStore {
  const insert = db.prepare(
    `INSERT INTO outbound_status (provider, job_id, provider_fax_id, event, status, provider_status, pages, error_type, error_code, error_message, received_at)
     VALUES (@provider, @jobId, @providerFaxId, @event, @status, @providerStatus, @pages, @errorType, @errorCode, @errorMessage, @receivedAt)
     ON CONFLICT DO NOTHING`,
  );
  const byId = db.prepare<[number], StatusRow>('SELECT * FROM outbound_status WHERE id = ?');
  const history = db.prepare<[string], StatusRow>('SELECT * FROM outbound_status WHERE job_id = ? ORDER BY id');
  const finals = FINAL_STATUSES.map(() => '?').join(', ');
  const current = db.prepare<[string, ...string[]], StatusRow>(
    `SELECT * FROM outbound_status WHERE job_id = ?
     ORDER BY (status IN (${finals})) DESC, id DESC LIMIT 1`,
  );

  const recentJobs = db.prepare<[number], { job_id: string }>('SELECT job_id FROM outbound_status GROUP BY job_id ORDER BY MAX(id) DESC LIMIT ?');

  function currentOf(jobId: string): StatusRow | undefined {
    return current.get(jobId, ...FINAL_STATUSES);
  }

  return {
    record(s, onCreated) {
      const created = db.transaction(() => {
        const info = insert.run(s);
        if (info.changes === 0) return false;
        onCreated?.(byId.get(Number(info.lastInsertRowid))!);
        return true;
      })();
      return { created, current: currentOf(s.jobId)! };
    },
    current: currentOf,
    history: (jobId) => history.all(jobId),
    jobs: (limit) => recentJobs.all(limit).map((j) => currentOf(j.job_id)!),
  };
}
