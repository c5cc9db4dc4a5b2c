/** Reading the daemon's database the way the CLI does: a separate read-only connection. */
import { openDatabase } from '../../src/store/db.js';

export function queryAll<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = openDatabase(dataDir, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function queryOne<T>(dataDir: string, sql: string, ...params: unknown[]): T | undefined {
  return queryAll<T>(dataDir, sql, ...params)[0];
}

/** The JSON body queued for an Asterisk fax (remote target), i.e. what was committed before the ack. */
export function outboxEvent(dataDir: string, uniqueid: string): Record<string, unknown> | undefined {
  const row = queryOne<{ body: string }>(dataDir, 'SELECT body FROM outbox WHERE event_key = ?', `asterisk:${uniqueid}`);
  return row ? (JSON.parse(row.body) as Record<string, unknown>) : undefined;
}

/**
 * What was committed before the ack for an Asterisk fax recorded locally (the default target),
 * in the event's own field names, read back from the inbox record.
 */
export function recordedEvent(dataDir: string, uniqueid: string): Record<string, unknown> | undefined {
  const row = queryOne<{ provider_status: string; pages: number | null; from_number: string | null; to_number: string | null; received_at: string; document_sha256: string | null; meta: string }>(
    dataDir,
    "SELECT * FROM inbox WHERE source = 'asterisk' AND provider_id = ?",
    uniqueid,
  );
  if (!row) return undefined;
  // The record keeps only the fields Asterisk set; an unset one reads as null, as in the event.
  const unset = Object.fromEntries(
    ['faxerror', 'remote_station_id', 'local_station_id', 'from_name', 'faxmode', 'bitrate', 'resolution', 'tiff_pages', 'tiff_problem', 'via', 'tiff_path'].map((k) => [k, null]),
  );
  return {
    ...unset,
    ...(JSON.parse(row.meta) as Record<string, unknown>),
    uniqueid,
    faxstatus: row.provider_status,
    faxpages: row.pages,
    from_number: row.from_number,
    to_number: row.to_number,
    received_at: row.received_at,
    tiff_sha256: row.document_sha256,
  };
}

export function inboxCount(dataDir: string, providerId: string): number {
  return queryOne<{ n: number }>(dataDir, 'SELECT COUNT(*) AS n FROM inbox WHERE provider_id = ?', providerId)!.n;
}
