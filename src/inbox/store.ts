/**
 * The inbox table: one row per received fax, keyed by (source, provider id). Plain reads and a
 * synchronous insert meant to run inside a commit (inbox/ingest.ts decides what goes with it).
 */
import path from 'node:path';
import type { DocumentType, FaxSource, InboundFax } from '../domain/fax.js';
import { eventKeyHash } from '../domain/ids.js';
import type { Db } from '../store/db.js';


/** A document kept under the data dir, as a record names it. */
export interface StoredDocument {
  path: string;
  sha256: string;
  bytes: number;
  type: DocumentType;
}

export interface InboxRow {
  id: string;
  source: FaxSource;
  provider_id: string;
  webhook_id: string | null;
  from_number: string | null;
  to_number: string | null;
  status: string;
  provider_status: string | null;
  pages: number | null;
  received_at: string;
  document_path: string | null;
  document_sha256: string | null;
  document_bytes: number | null;
  document_type: DocumentType | null;
  meta: string;
  created_at: string;
  purged_at: string | null;
  deleted_at: string | null;
}

export interface InboxFilter {
  to?: string;
  status?: string;
  since?: string;
  /** Received before this time (exclusive). */
  until?: string;
  /** Digits that the from or to number contains (the web inbox's search). */
  number?: string;
  /** Number patterns the reader may see (web users' --dids); undefined: every fax. */
  dids?: readonly string[];
  /** Include records deleted in the web inbox (the API and CLI see them, marked). */
  withDeleted?: boolean;
  /** Only records this web user has not opened yet. */
  unreadBy?: string;
  limit?: number;
  /** Opaque cursor: the `received_at|id` of the last row of the previous page. */
  after?: string;
}

export interface Inbox {
  /** The existing record for this natural key or webhook id, if any. */
  find(source: FaxSource, providerId: string, webhookId?: string | null): InboxRow | undefined;
  /** Inserts once; undefined when the key is taken. Synchronous: run it inside a commit. */
  insert(fax: InboundFax, document: StoredDocument | null, createdAt: Date): InboxRow | undefined;
  get(id: string): InboxRow | undefined;
  list(filter?: InboxFilter): InboxRow[];
  /** How many records match the filter (from its `after` on; `limit` ignored). */
  count(filter?: InboxFilter): number;
  /** Marks a record deleted (it stays; its document is purged by the caller). */
  markDeleted(id: string, at: Date): boolean;
}

/** The cursor that continues a listing after this row (the API's `next_cursor`). */
export function cursorAfter(row: Pick<InboxRow, 'received_at' | 'id'>): string {
  return `${row.received_at}|${row.id}`;
}

/** The record's id: the same derivation as the webhook id, so every path collides on purpose. */
export function inboxId(source: FaxSource, providerId: string): string {
  return eventKeyHash(source, providerId);
}

/** Where a record's document lives under the data dir. */
export function documentsDir(dataDir: string): string {
  return path.join(dataDir, 'documents');
}

export function documentPath(dataDir: string, id: string, type: DocumentType): string {
  return path.join(documentsDir(dataDir), `${id}.${type}`);
}

export function createInbox(db: Db): Inbox {
  // Number filters compare digits: "+1 (555) 987-0000" is 15559870000.
  db.function('digits', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? v.replace(/\D/g, '') : ''));
  const byKey = db.prepare<[string, string], InboxRow>('SELECT * FROM inbox WHERE source = ? AND provider_id = ?');
  const byWebhook = db.prepare<[string], InboxRow>('SELECT * FROM inbox WHERE webhook_id = ?');
  const byId = db.prepare<[string], InboxRow>('SELECT * FROM inbox WHERE id = ?');
  const insert = db.prepare(
    `INSERT INTO inbox (id, source, provider_id, webhook_id, from_number, to_number, status, provider_status, pages,
       received_at, document_path, document_sha256, document_bytes, document_type, meta, created_at)
     VALUES (@id, @source, @providerId, @webhookId, @from, @to, @status, @providerStatus, @pages,
       @receivedAt, @documentPath, @documentSha256, @documentBytes, @documentType, @meta, @createdAt)
     ON CONFLICT DO NOTHING`,
  );

  function find(source: FaxSource, providerId: string, webhookId?: string | null): InboxRow | undefined {
    return byKey.get(source, providerId) ?? (webhookId ? byWebhook.get(webhookId) : undefined);
  }

  return {
    find,
    insert(fax, document, createdAt) {
      const id = inboxId(fax.source, fax.providerId);
      const info = insert.run({
        id,
        source: fax.source,
        providerId: fax.providerId,
        webhookId: fax.webhookId,
        from: fax.from,
        to: fax.to,
        status: fax.status,
        providerStatus: fax.providerStatus,
        pages: fax.pages,
        receivedAt: fax.receivedAt,
        documentPath: document?.path ?? null,
        documentSha256: document?.sha256 ?? null,
        documentBytes: document?.bytes ?? null,
        documentType: document?.type ?? null,
        meta: JSON.stringify(fax.meta),
        createdAt: createdAt.toISOString(),
      });
      return info.changes === 1 ? byId.get(id) : undefined;
    },
    get: (id) => byId.get(id),
    list(filter = {}) {
      const { where, params } = conditions(filter);
      const sql = `SELECT * FROM inbox ${where} ORDER BY received_at DESC, id DESC LIMIT ?`;
      return db.prepare(sql).all(...params, Math.min(filter.limit ?? 50, 500)) as InboxRow[];
    },
    markDeleted(id, at) {
      return db.prepare('UPDATE inbox SET deleted_at = ?, purged_at = COALESCE(purged_at, ?) WHERE id = ? AND deleted_at IS NULL').run(at.toISOString(), at.toISOString(), id).changes === 1;
    },
    count(filter = {}) {
      const { where, params } = conditions(filter);
      return (db.prepare(`SELECT COUNT(*) AS n FROM inbox ${where}`).get(...params) as { n: number }).n;
    },
  };
}

function conditions(filter: InboxFilter): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.to) (where.push('to_number = ?'), params.push(filter.to));
  if (filter.status) (where.push('status = ?'), params.push(filter.status));
  if (filter.since) (where.push('received_at >= ?'), params.push(filter.since));
  if (filter.until) (where.push('received_at < ?'), params.push(filter.until));
  if (filter.number) {
    const d = filter.number.replace(/\D/g, '');
    (where.push("(instr(digits(from_number), ?) > 0 OR instr(digits(to_number), ?) > 0)"), params.push(d, d));
  }
  if (filter.dids) {
    const any = filter.dids.map((p) => (p.endsWith('*') ? "digits(to_number) LIKE ? || '%'" : 'digits(to_number) = ?'));
    where.push(any.length ? `(${any.join(' OR ')})` : '0');
    params.push(...filter.dids.map((p) => p.replace(/\*$/, '')));
  }
  if (!filter.withDeleted) where.push('deleted_at IS NULL');
  if (filter.unreadBy !== undefined) (where.push('id NOT IN (SELECT fax_id FROM fax_reads WHERE user_name = ?)'), params.push(filter.unreadBy));
  if (filter.after) {
    const [at, id] = filter.after.split('|');
    where.push('(received_at < ? OR (received_at = ? AND id < ?))');
    params.push(at, at, id ?? '');
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** What a record's metadata shows outside: not where the spool file was on this host. */
function publicMeta(text: string): Record<string, unknown> {
  const { tiff_path: _path, ...meta } = JSON.parse(text) as Record<string, unknown>;
  return meta;
}

/** The public shape of a record: the API's answer and the forwarded event's `data`. */
export function inboxView(row: InboxRow): Record<string, unknown> {
  return {
    id: row.id,
    source: row.source,
    provider_id: row.provider_id,
    from_number: row.from_number,
    to_number: row.to_number,
    status: row.status,
    provider_status: row.provider_status,
    pages: row.pages,
    received_at: row.received_at,
    document: row.document_type
      ? { type: row.document_type, sha256: row.document_sha256, bytes: row.document_bytes, purged: row.purged_at !== null }
      : null,
    ...(row.deleted_at ? { deleted_at: row.deleted_at } : {}),
    meta: publicMeta(row.meta),
  };
}
