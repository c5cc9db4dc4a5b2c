/**
 * What a new inbox record queues for email: one outbox row for its recipients, in the same
 * transaction as the record, so a fax is never stored without its mail (or mailed twice: a
 * duplicate never creates a record, and the row is keyed by the fax).
 */
import type { MailConfig } from '../config/config.js';
import type { InboxRow } from '../inbox/store.js';
import type { NewOutboxItem } from '../outbox/queue.js';
import { MAIL_TARGET_PREFIX } from '../outbox/worker.js';
import { faxMessageId } from './message.js';
import { recipientsFor } from './routes.js';

export type MailDecision = { queue: NewOutboxItem } | { skip: 'unrouted' | 'failed-not-mailed' };

export function mailFor(row: InboxRow, config: MailConfig, hostname: string): MailDecision {
  if (row.status === 'failed' && !config.mailFailed) return { skip: 'failed-not-mailed' };
  const to = recipientsFor(config.routes, row.to_number);
  if (!to) return { skip: 'unrouted' };
  return {
    queue: {
      eventKey: `mail:${row.id}`,
      target: `${MAIL_TARGET_PREFIX}${to.join(',')}`,
      webhookId: faxMessageId(row.id, to, hostname),
      body: JSON.stringify({ inbox_id: row.id }),
      tiffPath: null,
      tiffSha256: null,
    },
  };
}
