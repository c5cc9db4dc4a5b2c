/**
 * The one place a received fax is stored, whatever its source (the AGI route, a fallback
 * marker, the internal route, Phaxio, Sinch): the duplicate check, the document, the record,
 * and whatever is queued with the record (forwards, mail), all durable before it resolves.
 *
 * Durability: the document's data is fsynced first (in the thread pool, in parallel across
 * callers), then its directory and the record's transaction share one group commit. A crash
 * before the commit leaves at most a document no record names; the retry renames over it.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { IncomingDocument, InboundFax, OutboundStatus } from '../domain/fax.js';
import { pinDocument, removeTempFiles } from '../documents/durable-write.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { StatusRow, StatusStore } from './statuses.js';
import { documentPath, documentsDir, inboxId, type Inbox, type InboxRow, type StoredDocument } from './store.js';

export interface IngestResult {
  id: string;
  created: boolean;
  /** What was kept of the document: hard-linked, copied, or nothing. */
  document: 'linked' | 'copied' | null;
  /** Set when this fax reused the key of another record (whose id this is) and was kept apart. */
  conflict: string | undefined;
}

export interface Ingest {
  /** The record this fax already has, if any (checked before fetching or keeping a document). */
  existing(fax: InboundFax): InboxRow | undefined;
  receiveFax(fax: InboundFax, document: IncomingDocument | null): Promise<IngestResult>;
  recordStatus(status: OutboundStatus): Promise<{ created: boolean; current: StatusRow }>;
}

export interface IngestOptions {
  dataDir: string;
  inbox: Inbox;
  statuses: StatusStore;
  commits: GroupCommit;
  now: () => Date;
  /** Runs inside the transaction that creates a record (to queue its forwards and mail with it). */
  onFaxCreated?: (row: InboxRow) => void;
  onStatusCreated?: (row: StatusRow) => void;
  /** Told when a fax could not be stored because the disk is full (it was not acked), and when one was stored again. */
  onDiskFull?: (err: unknown) => void;
  onStored?: () => void;
  logger?: Logger;
}

export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export async function createIngest(o: IngestOptions): Promise<Ingest> {
  const dir = documentsDir(o.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  await removeTempFiles(dir);

  return {
    existing: (fax) => o.inbox.find(fax.source, fax.providerId, fax.webhookId),
    async receiveFax(incoming, document) {
      let fax = incoming;
      const existing = o.inbox.find(fax.source, fax.providerId, fax.webhookId);
      if (existing) {
        // A replay is a duplicate only if it is the same fax. A document where the record has
        // none, or another document, is another fax that reused the key (a spoofed UNIQUEID, or
        // two Asterisk hosts without systemname): it is kept under a key of its own, never dropped.
        if (!document || existing.document_sha256 === document.sha256) return { id: existing.id, created: false, document: null, conflict: undefined };
        fax = { ...fax, providerId: `${fax.providerId}~${document.sha256.slice(0, 16)}`, webhookId: null, meta: { ...fax.meta, conflicts_with: existing.id } };
        const again = o.inbox.find(fax.source, fax.providerId);
        if (again) return { id: again.id, created: false, document: null, conflict: existing.id };
        o.logger?.error({ id: existing.id, source: fax.source, reason: existing.document_sha256 ? 'another document' : 'a document where the record has none' }, 'inbox.conflict');
      }

      const id = inboxId(fax.source, fax.providerId);
      let stored: StoredDocument | null = null;
      let kept: IngestResult['document'] = null;
      let row: InboxRow | undefined;
      try {
        if (document) {
          const file = documentPath(o.dataDir, id, document.type);
          kept = await pinDocument(document, file);
          stored = { path: file, sha256: document.sha256, bytes: document.bytes.length, type: document.type };
        }
        row = await o.commits.commit(
          () => {
            const created = o.inbox.insert(fax, stored, o.now());
            if (created) o.onFaxCreated?.(created);
            return created;
          },
          { syncDir: stored ? dir : undefined },
        );
      } catch (err) {
        if (isDiskFull(err)) o.onDiskFull?.(err);
        throw err;
      }
      o.onStored?.();
      if (row) return { id: row.id, created: true, document: kept, conflict: existing?.id };
      // Lost a race with the same fax (e.g. the marker and the AGI route at once).
      return { id: o.inbox.find(fax.source, fax.providerId, fax.webhookId)!.id, created: false, document: null, conflict: undefined };
    },
    recordStatus(status) {
      return o.commits.commit(() => o.statuses.record(status, o.onStatusCreated));
    },
  };
}
