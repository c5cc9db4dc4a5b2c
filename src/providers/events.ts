/**
 * What a provider route turns a request into, whatever the provider or scheme. Providers only
 * verify and parse; the HTTP layer stores these.
 */
import type { InboundFax } from '../inbox/store.js';

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

/** Where a received document is: in the request, behind a seed-shaped `file_url`, or absent. */
export type DocumentSource = { kind: 'inline'; bytes: Buffer } | { kind: 'url'; url: string } | { kind: 'none' };

export type NormalizedStatus = 'queued' | 'in_progress' | 'success' | 'failed' | 'unknown';

export const FINAL_STATUSES: readonly NormalizedStatus[] = ['success', 'failed'];

/** The status of a fax someone sent out through a provider, keyed by our job id. */
export interface OutboundStatus {
  provider: 'phaxio' | 'sinch';
  jobId: string;
  providerFaxId: string;
  /** `fax_completed`, `FAX_COMPLETED`, `seed`, ... */
  event: string;
  status: NormalizedStatus;
  providerStatus: string | null;
  pages: number | null;
  errorType: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  receivedAt: string;
}

export type ProviderEvent =
  | { kind: 'inbound_fax'; fax: InboundFax; document: DocumentSource }
  | { kind: 'outbound_status'; status: OutboundStatus }
  | { kind: 'ignored'; reason: string };

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
