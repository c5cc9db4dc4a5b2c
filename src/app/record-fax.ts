/**
 * What the AGI route and the marker watcher do with a fax, by target:
 * - this daemon's own receiver (the default): straight into the inbox, no outbox, no HTTP;
 * - a remote target: an outbox row, with the document pinned under the data dir first, so a
 *   cleaned spool cannot lose a fax that was acked but not yet delivered.
 * Either way the fax is durable when the promise resolves, and only then is Asterisk acked.
 */
import path from 'node:path';
import { deliveryBody, deliveryFields, type RecordFax } from '../asterisk/fax-event.js';
import { pinDocument } from '../documents/durable-write.js';
import { webhookIdFor } from '../domain/ids.js';
import type { Ingest } from '../inbox/ingest.js';
import { PRIMARY_TARGET, type Outbox } from '../outbox/queue.js';
import { internalFax } from '../providers/internal.js';
import type { GroupCommit } from '../store/group-commit.js';

/** The fax's natural key: its UNIQUEID, prefixed by this edge's name when one is configured. */
export function asteriskKey(uniqueid: string, edge: string | undefined): string {
  return edge ? `${edge}/${uniqueid}` : uniqueid;
}

export function recordLocally(ingest: Ingest, now: () => Date, edge?: string): RecordFax {
  return async (event, document) => {
    // The same mapping the internal route applies to the same body, so both paths store the same record.
    const parsed = internalFax(deliveryFields(event, edge), webhookIdFor('asterisk', asteriskKey(event.uniqueid, edge)), now());
    if (!parsed.ok) throw new Error(`unrecordable event ${event.uniqueid}: ${parsed.message}`);
    const { created } = await ingest.receiveFax(parsed.value.fax, document);
    return { created };
  };
}

export function recordForDelivery(o: { outbox: Outbox; commits: GroupCommit; pinDir: string; now: () => Date; wake: () => void; edge?: string }): RecordFax {
  return async (event, document) => {
    const key = asteriskKey(event.uniqueid, o.edge);
    const eventKey = `asterisk:${key}`;
    if (o.outbox.has(eventKey, PRIMARY_TARGET)) return { created: false };
    const webhookId = webhookIdFor('asterisk', key);
    const tiffPath = document ? path.join(o.pinDir, `${webhookId}.tiff`) : null;
    if (document && tiffPath) await pinDocument(document, tiffPath);
    const { created } = await o.commits.commit(
      () =>
        o.outbox.enqueue(
          { eventKey, target: PRIMARY_TARGET, webhookId, body: deliveryBody(event, o.edge), tiffPath, tiffSha256: event.tiff_sha256 },
          o.now().getTime(),
        ),
      { syncDir: document ? o.pinDir : undefined },
    );
    o.wake();
    return { created };
  };
}
