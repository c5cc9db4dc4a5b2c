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

/** The JSON body queued for an Asterisk fax, i.e. what was committed before the ack. */
export function outboxEvent(dataDir: string, uniqueid: string): Record<string, unknown> | undefined {
  const row = queryOne<{ body: string }>(dataDir, 'SELECT body FROM outbox WHERE event_key = ?', `asterisk:${uniqueid}`);
  return row ? (JSON.parse(row.body) as Record<string, unknown>) : undefined;
}

export function inboxCount(dataDir: string, providerId: string): number {
  return queryOne<{ n: number }>(dataDir, 'SELECT COUNT(*) AS n FROM inbox WHERE provider_id = ?', providerId)!.n;
}
