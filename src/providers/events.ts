/**
 * What a provider route turns a request into, whatever the provider or scheme, and the small
 * checks every provider shares. Providers only verify and parse; inbox/ingest.ts stores.
 */
import { createHmac } from 'node:crypto';
import type { DocumentSource, InboundFax, OutboundStatus } from '../domain/fax.js';
import { matchesAny } from '../signing/constant-time.js';

export type Verdict<T> = { ok: true; value: T } | { ok: false; status: 400 | 401; message: string };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function bad(message: string): { ok: false; status: 400; message: string } {
  return { ok: false, status: 400, message };
}

export function unauthorized(message: string): { ok: false; status: 401; message: string } {
  return { ok: false, status: 401, message };
}

export type ProviderEvent =
  | { kind: 'inbound_fax'; fax: InboundFax; document: DocumentSource }
  | { kind: 'outbound_status'; status: OutboundStatus }
  | { kind: 'ignored'; reason: string }
  /** `faxbridge check`'s signed probe: answered, never stored. */
  | { kind: 'probe' };

/** Provider page counts arrive as numbers or numeric strings. */
export function toPages(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1e6) return v;
  if (typeof v === 'string' && /^\d{1,6}$/.test(v.trim())) return Number(v.trim());
  return null;
}

export function toText(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface InboundFields {
  id: string;
  from: string | null;
  to: string | null;
  providerStatus: string | null;
  failed: boolean;
  pages: number | null;
  receivedAt: string;
  meta: Record<string, unknown>;
}

/** A received fax as every provider reports it. Only a failed reception may come without a document. */
export function inboundFaxEvent(source: 'phaxio' | 'sinch', f: InboundFields, document: DocumentSource): Verdict<ProviderEvent> {
  if (document.kind === 'none' && !f.failed) return bad(`${source} fax ${f.id} carries no document (no file, no file_url)`);
  return ok({
    kind: 'inbound_fax',
    fax: {
      source,
      providerId: f.id,
      webhookId: null,
      from: f.from,
      to: f.to,
      status: f.failed ? 'failed' : 'received',
      providerStatus: f.providerStatus,
      pages: f.pages,
      receivedAt: f.receivedAt,
      meta: f.meta,
    },
    document,
  });
}

/** A provider's time as ISO 8601 UTC, or null when it is not a time. */
export function validTime(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Drops null and undefined members, so stored metadata holds only what the provider sent. */
export function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** The body as a JSON object. */
export function jsonObject(raw: Buffer): Verdict<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return bad('Body is not valid JSON');
  }
  return isObject(doc) ? ok(doc) : bad('Body must be a JSON object');
}

/** A base64 document field, decoded; `name` is the field's name for the message. */
export function base64Document(text: string, name: string): Verdict<Buffer> {
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(text)) return bad(`${name} is not base64`);
  return ok(Buffer.from(text, 'base64'));
}

/** A page count that is absent (null) or a whole number; anything else is refused. */
export function optionalPages(v: unknown, name: string): Verdict<number | null> {
  if (v === undefined || v === null || v === '') return ok(null);
  const pages = toPages(v);
  return pages === null ? bad(`${name} must be a whole number`) : ok(pages);
}

/** The seed schemes' signature: hex HMAC-SHA256 of the raw body, under any accepted key. */
export function hmacSha256Matches(raw: Buffer, signature: string | undefined, keys: readonly string[]): boolean {
  const expected = keys.map((k) => createHmac('sha256', k).update(raw).digest('hex'));
  return matchesAny((signature ?? '').trim().toLowerCase(), expected);
}
