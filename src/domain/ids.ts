import { createHash } from 'node:crypto';

/**
 * One derivation for every identifier of an event: a fax is named by its source and natural
 * key (UNIQUEID, provider fax id), so a retry, a replay or the fallback marker all get the same
 * ids. The hex form contains no `.`, which a raw UNIQUEID does (reference/webhooks.md §1).
 */
export function eventKeyHash(source: string, naturalKey: string): string {
  return createHash('sha256').update(`${source}:${naturalKey}`).digest('hex').slice(0, 32);
}

/** Standard Webhooks `webhook-id` of a fax event. */
export function webhookIdFor(source: string, naturalKey: string): string {
  return `fax_${eventKeyHash(source, naturalKey)}`;
}
