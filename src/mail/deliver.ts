/** Sends one queued mail row: the record as it is now, its document as PDF, through the sender. */
import type { MailConfig } from '../config/config.js';
import { documentAs } from '../inbox/export.js';
import type { Inbox } from '../inbox/store.js';
import type { OutboxRow } from '../outbox/queue.js';
import { MAIL_TARGET_PREFIX, type AttemptResult } from '../outbox/worker.js';
import { faxMail, type MailDocument } from './message.js';
import type { MailSender } from './sender.js';

export function mailDelivery(o: { inbox: Inbox; sender: MailSender; config: MailConfig; hostname: string; linkFor?: (id: string) => string | undefined }) {
  return async (row: OutboxRow): Promise<AttemptResult> => {
    try {
      return await deliver(row);
    } catch (err) {
      // The document could not be read: try again later, never a mail without it.
      return { action: 'retry', status: null, error: `cannot build the email: ${(err as Error).message}`, response: null };
    }
  };

  async function deliver(row: OutboxRow): Promise<AttemptResult> {
    const { inbox_id: id } = JSON.parse(row.body) as { inbox_id: string };
    const record = o.inbox.get(id);
    if (!record) return { action: 'dead', status: null, error: `no inbox record ${id}`, response: null };
    const to = row.target.slice(MAIL_TARGET_PREFIX.length).split(',');
    const mail = faxMail(record, await mailDocument(record), { from: o.config.from, to, hostname: o.hostname, link: o.linkFor?.(id) });
    const sent = await o.sender.send(mail);
    if (sent.action === 'delivered') return { action: 'delivered', status: sent.status, error: null, response: sent.response, responseId: sent.messageId };
    return { action: sent.action, status: sent.status, error: sent.error, response: sent.response, configError: sent.configError };
  }
}

/** Never an email without the fax: the PDF, else the TIFF (saying why), else the reason there is none. */
async function mailDocument(record: Parameters<typeof documentAs>[0]): Promise<MailDocument> {
  if (!record.document_path || !record.document_type) return { kind: 'none', why: 'no page arrived' };
  if (record.purged_at) return { kind: 'none', why: 'purged' };
  try {
    return { kind: 'pdf', bytes: await documentAs(record, 'pdf') };
  } catch (err) {
    if (record.document_type !== 'tiff') throw err;
    return { kind: 'tiff', bytes: await documentAs(record, 'tiff'), why: (err as Error).message };
  }
}
