/**
 * Inbox events as forwarded to webhooks: versioned JSON `{type, version, id, timestamp, data}`,
 * signed like every delivery (Standard Webhooks). Enqueued in the transaction that creates the
 * record, so a crash cannot store a fax and lose its forward.
 */
import { eventKeyHash } from '../domain/ids.js';
import type { StatusRow } from '../inbox/statuses.js';
import { inboxView, type InboxRow } from '../inbox/store.js';
import type { Outbox } from './queue.js';

export const EVENT_VERSION = 1;

export interface ForwardEvent {
  key: string;
  webhookId: string;
  body: string;
}

export function faxForwardEvent(row: InboxRow, now: Date): ForwardEvent {
  const key = `inbox:${row.id}`;
  return event(key, row.status === 'failed' ? 'fax.failed' : 'fax.received', inboxView(row), now);
}

export function statusForwardEvent(row: StatusRow, now: Date): ForwardEvent {
  const key = `status:${row.id}`;
  const { id: _id, ...data } = row;
  return event(key, 'fax.status', data, now);
}

function event(key: string, type: string, data: unknown, now: Date): ForwardEvent {
  const webhookId = `evt_${eventKeyHash('forward', key)}`;
  return { key, webhookId, body: JSON.stringify({ type, version: EVENT_VERSION, id: webhookId, timestamp: now.toISOString(), data }) };
}

export function enqueueForward(outbox: Outbox, urls: readonly string[], e: ForwardEvent, now: number): void {
  for (const target of urls) {
    outbox.enqueue({ eventKey: e.key, target, webhookId: e.webhookId, body: e.body, tiffPath: null, tiffSha256: null }, now);
  }
}
