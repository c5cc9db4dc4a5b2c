/**
 * `POST /_internal/asterisk/inbound`: the seed contract (X-Internal-Secret + flat JSON) plus
 * faxbridge's Standard Webhooks signature and `tiff_base64` (reference/faxbot.md §1, webhooks.md §1).
 * Verify and parse only; storing is inbox/ingest.ts's job. `internalFax` is also how a fax
 * recorded locally from the AGI route becomes a record, so both paths store the same thing.
 */
import { createHash } from 'node:crypto';
import type { DocumentSource, InboundFax } from '../domain/fax.js';
import { matchesAny } from '../signing/constant-time.js';
import { verifyWebhook } from '../signing/standard-webhooks.js';
import { bad, base64Document, jsonObject, ok, optionalPages, validTime, type ProviderEvent, type Verdict } from './events.js';
import { header, type ProviderRoute } from './route.js';

export const ASTERISK_INBOUND_PATH = '/_internal/asterisk/inbound';

/** Largest body on the internal route (it may carry `tiff_base64`). */
export const INTERNAL_BODY_LIMIT = 32 * 1024 * 1024;

export interface InternalCredentials {
  /** Accepted `X-Internal-Secret` values (current and, during a rotation, previous). */
  secrets: readonly string[];
  /** Standard Webhooks keys accepted on `webhook-signature`. */
  signingKeys: readonly Buffer[];
  /** Refuse requests without a valid signature (an explicitly configured signing secret). */
  requireSignature: boolean;
}

/** Header check, before the body is read. */
export function checkInternalSecret(header: string | undefined, credentials: InternalCredentials): Verdict<null> {
  if (credentials.secrets.length === 0) return { ok: false, status: 401, message: 'Internal secret not configured' };
  if (!header || !matchesAny(header, credentials.secrets)) return { ok: false, status: 401, message: 'Invalid internal secret' };
  return { ok: true, value: null };
}

/** Signature check on the raw bytes, before parsing. Verified when present, required when configured. */
export function checkSignature(
  headers: { id?: string; timestamp?: string; signature?: string },
  raw: Buffer,
  credentials: InternalCredentials,
  nowSeconds: number,
): Verdict<{ webhookId: string | null }> {
  const present = headers.id !== undefined || headers.timestamp !== undefined || headers.signature !== undefined;
  if (!present) {
    return credentials.requireSignature
      ? { ok: false, status: 401, message: 'Missing webhook-id, webhook-timestamp or webhook-signature' }
      : { ok: true, value: { webhookId: null } };
  }
  const verdict = verifyWebhook(
    { id: headers.id, timestamp: headers.timestamp, signature: headers.signature },
    raw,
    credentials.signingKeys,
    nowSeconds,
  );
  if (verdict.ok) return { ok: true, value: { webhookId: headers.id ?? null } };
  const message = {
    'missing-headers': 'Missing webhook-id, webhook-timestamp or webhook-signature',
    'stale-timestamp': 'webhook-timestamp is outside the 300 s tolerance',
    'bad-signature': 'Invalid webhook signature',
  }[verdict.reason];
  return { ok: false, status: 401, message };
}

export interface InternalFax {
  fax: InboundFax;
  document: DocumentSource;
}

const MAX_STRING = 1024;
const STRING_FIELDS = ['edge', 'tiff_path', 'to_number', 'from_number', 'faxstatus', 'faxerror', 'remote_station_id', 'local_station_id', 'from_name', 'received_at', 'tiff_sha256', 'tiff_base64'];

export function parseInternalBody(raw: Buffer, webhookId: string | null, now: Date): Verdict<InternalFax> {
  const body = jsonObject(raw);
  return body.ok ? internalFax(body.value, webhookId, now) : body;
}

/** The body's fields (parsed JSON, or an event's delivery fields) as a record and its document. */
export function internalFax(b: Readonly<Record<string, unknown>>, webhookId: string | null, now: Date): Verdict<InternalFax> {
  const missing = ['tiff_path', 'uniqueid'].filter((k) => !(k in b) || b[k] === '');
  if (missing.length) return bad(`Missing required field(s): ${missing.join(', ')}`);

  const strings: Record<string, string | null> = {};
  for (const key of STRING_FIELDS) {
    const v = b[key];
    if (v === undefined || v === null) strings[key] = null;
    else if (typeof v !== 'string') return bad(`Field ${key} must be a string`);
    else if (key !== 'tiff_base64' && v.length > MAX_STRING) return bad(`Field ${key} is too long`);
    else strings[key] = v.trim() === '' ? null : v;
  }
  const uniqueid = b['uniqueid'];
  if ((typeof uniqueid !== 'string' && typeof uniqueid !== 'number') || String(uniqueid).length > 150) {
    return bad('Field uniqueid must be a string');
  }
  // Faxbot takes an int or a numeric string ("2" is what its dialplan sends).
  const pages = optionalPages(b['faxpages'], 'Field faxpages');
  if (!pages.ok) return pages;

  const document = pickDocument(strings);
  if (!document.ok) return document;

  const faxstatus = strings['faxstatus'] ?? null;
  const failed = faxstatus !== null && /^(failed|failure|error)$/i.test(faxstatus);
  return ok({
    fax: {
      source: 'asterisk',
      // An edge named with --edge-name keys its faxes apart from other edges' equal UNIQUEIDs.
      providerId: strings['edge'] ? `${strings['edge']}/${String(uniqueid)}` : String(uniqueid),
      webhookId,
      from: strings['from_number'] ?? null,
      to: strings['to_number'] ?? null,
      status: failed ? 'failed' : 'received',
      providerStatus: faxstatus ?? null,
      pages: pages.value,
      receivedAt: validTime(strings['received_at']) ?? now.toISOString(),
      meta: pick(b, ['faxerror', 'remote_station_id', 'local_station_id', 'from_name', 'faxmode', 'bitrate', 'resolution', 'tiff_pages', 'tiff_problem', 'via', 'tiff_path']),
    },
    document: document.value,
  });
}

function pickDocument(s: Record<string, string | null>): Verdict<DocumentSource> {
  const b64 = s['tiff_base64'];
  if (b64) {
    const bytes = base64Document(b64, 'Field tiff_base64');
    if (!bytes.ok) return bytes;
    const declared = s['tiff_sha256'];
    if (!declared) return bad('Field tiff_sha256 is required with tiff_base64');
    const actual = createHash('sha256').update(bytes.value).digest('hex');
    if (actual !== declared.toLowerCase()) return bad('tiff_sha256 does not match tiff_base64');
    return ok({ kind: 'inline', bytes: bytes.value });
  }
  const p = s['tiff_path'];
  return ok(p ? { kind: 'spool', path: p } : { kind: 'none' });
}

function pick(b: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (b[k] !== undefined && b[k] !== null) out[k] = b[k];
  return out;
}

/** `faxbridge check` sends this, signed, to see that a target accepts our credentials. Never stored. */
export const PROBE_BODY = '{"faxbridge_probe":true}';

export function isProbe(raw: Buffer): boolean {
  return raw.toString('utf8') === PROBE_BODY;
}

/** The internal route as a provider route: secret first, then signature, probe, parse. */
export function internalRoutes(credentials: () => InternalCredentials, nowSeconds: () => number): ProviderRoute[] {
  return [
    {
      path: ASTERISK_INBOUND_PATH,
      bodyLimit: INTERNAL_BODY_LIMIT,
      accepts: ['tiff'],
      checkHeaders: (req) => checkInternalSecret(header(req.headers['x-internal-secret']), credentials()),
      receive(req, raw, now): Verdict<ProviderEvent> {
        if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return bad('Content-Type must be application/json');
        const h = req.headers;
        const signed = checkSignature(
          { id: header(h['webhook-id']), timestamp: header(h['webhook-timestamp']), signature: header(h['webhook-signature']) },
          raw,
          credentials(),
          nowSeconds(),
        );
        if (!signed.ok) return signed;
        if (isProbe(raw)) return ok({ kind: 'probe' });
        const parsed = parseInternalBody(raw, signed.value.webhookId, now);
        return parsed.ok ? ok({ kind: 'inbound_fax', ...parsed.value }) : parsed;
      },
    },
  ];
}
