/**
 * Sinch, both schemes (reference/providers.md §4): the seed (flat JSON, optional Basic auth,
 * optional X-Sinch-Signature = hex HMAC-SHA256 of the raw body) and real Sinch Fax v3
 * (`INCOMING_FAX` / `FAX_COMPLETED`, multipart or JSON with a base64 file; Basic auth only).
 * Fails closed: with no credential configured the route refuses everyone unless opened explicitly.
 */
import type { DocumentSource, NormalizedStatus } from '../domain/fax.js';
import { matchesAny, safeEqual } from '../signing/constant-time.js';
import {
  bad,
  base64Document,
  compact,
  hmacSha256Matches,
  inboundFaxEvent,
  isObject,
  jsonObject,
  ok,
  optionalPages,
  toPages,
  toText,
  unauthorized,
  type ProviderEvent,
  type Verdict,
  validTime,
} from './events.js';
import { field, FormBodyError, mediaType, parseFormBody } from './form-body.js';
import { header, type ProviderRoute } from './route.js';

export interface SinchCredentials {
  basicUser: string | undefined;
  basicPasswords: readonly string[];
  hmacSecrets: readonly string[];
  /** Accept requests with no credential at all (only if explicitly configured). */
  allowUnauthenticated: boolean;
}

function sinchConfigured(c: SinchCredentials): boolean {
  return Boolean(c.basicUser) || c.hmacSecrets.length > 0;
}

/** Header checks, before the body is read. */
export function checkSinchHeaders(authorization: string | undefined, signature: string | undefined, c: SinchCredentials): Verdict<null> {
  if (!sinchConfigured(c) && !c.allowUnauthenticated) {
    return unauthorized('Sinch route has no credential configured (SINCH_INBOUND_BASIC_USER/PASS or SINCH_INBOUND_HMAC_SECRET)');
  }
  if (c.basicUser) {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon === -1 ? '' : decoded.slice(0, colon);
    const pass = colon === -1 ? '' : decoded.slice(colon + 1);
    const userOk = safeEqual(user, c.basicUser);
    const passOk = matchesAny(pass, c.basicPasswords);
    if (!m || !userOk || !passOk) return unauthorized('Invalid basic auth');
  }
  if (signature !== undefined && c.hmacSecrets.length === 0) return unauthorized('X-Sinch-Signature sent but SINCH_INBOUND_HMAC_SECRET is not configured');
  if (c.hmacSecrets.length > 0 && !signature) return unauthorized('Missing X-Sinch-Signature');
  return ok(null);
}

/** The seed signature, on the raw bytes, once the body is read. */
export function verifySinchSignature(raw: Buffer, signature: string | undefined, c: SinchCredentials): Verdict<null> {
  if (c.hmacSecrets.length === 0) return ok(null);
  return hmacSha256Matches(raw, signature, c.hmacSecrets) ? ok(null) : unauthorized('Invalid signature');
}

function normalizeSinchStatus(raw: string | null): NormalizedStatus {
  switch ((raw ?? '').toUpperCase()) {
    case 'COMPLETED':
      return 'success';
    case 'FAILURE':
      return 'failed';
    case 'QUEUED':
      return 'queued';
    case 'IN_PROGRESS':
      return 'in_progress';
    default:
      return 'unknown';
  }
}

interface SinchEnvelope {
  event: string | null;
  fax: Record<string, unknown> | null;
  file: DocumentSource;
  flat: Record<string, unknown> | null;
}

export function parseSinch(raw: Buffer, contentType: string | undefined, now: Date): Verdict<ProviderEvent> {
  const env = readEnvelope(raw, contentType);
  if (!env.ok) return env;
  const { event, fax, file, flat } = env.value;
  if (event !== null && fax) return realEvent(event, fax, file, now);
  if (flat && (flat['id'] !== undefined || flat['fax_id'] !== undefined)) return seedEvent(flat, now);
  return bad('Sinch body is neither a Sinch event ({event, fax}) nor a seed fax ({id, ...})');
}

function readEnvelope(raw: Buffer, contentType: string | undefined): Verdict<SinchEnvelope> {
  const type = mediaType(contentType);
  if (type === 'multipart/form-data') {
    let form;
    try {
      form = parseFormBody(raw, contentType);
    } catch (err) {
      if (err instanceof FormBodyError) return bad(`Malformed multipart body: ${err.message}`);
      throw err;
    }
    const faxPart = field(form, 'fax');
    let fax: unknown = null;
    try {
      fax = faxPart ? JSON.parse(faxPart) : null;
    } catch {
      return bad('The fax part is not valid JSON');
    }
    const filePart = form.files.find((f) => f.name === 'file');
    return ok({
      event: field(form, 'event') ?? null,
      fax: isObject(fax) ? fax : null,
      file: filePart ? { kind: 'inline', bytes: filePart.bytes } : { kind: 'none' },
      flat: null,
    });
  }
  if (type !== 'application/json') return bad('Sinch body must be JSON or multipart/form-data');
  const parsed = jsonObject(raw);
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const files = Array.isArray(doc['files']) ? doc['files'] : [];
  const first = files.find(isObject);
  const b64 = toText(doc['file']) ?? (first ? toText(first['file']) : null);
  let file: DocumentSource = { kind: 'none' };
  if (b64) {
    const bytes = base64Document(b64, 'file');
    if (!bytes.ok) return bytes;
    file = { kind: 'inline', bytes: bytes.value };
  }
  return ok({ event: toText(doc['event']), fax: isObject(doc['fax']) ? doc['fax'] : null, file, flat: doc });
}

function realEvent(event: string, fax: Record<string, unknown>, file: DocumentSource, now: Date): Verdict<ProviderEvent> {
  const id = toText(fax['id']);
  if (!id) return bad('Sinch fax has no id');
  const direction = (toText(fax['direction']) ?? '').toUpperCase();
  const providerStatus = toText(fax['status']);
  if (event !== 'INCOMING_FAX' && event !== 'FAX_COMPLETED') return ok({ kind: 'ignored', reason: `unknown Sinch event ${event}` });
  if (direction === 'OUTBOUND') {
    const labels = isObject(fax['labels']) ? fax['labels'] : {};
    return ok({
      kind: 'outbound_status',
      status: {
        provider: 'sinch',
        jobId: toText(labels['job_id']) ?? id,
        providerFaxId: id,
        event,
        status: normalizeSinchStatus(providerStatus),
        providerStatus,
        pages: toPages(fax['numberOfPages']),
        errorType: toText(fax['errorType']),
        errorCode: toText(fax['errorCode']),
        errorMessage: toText(fax['errorMessage']),
        receivedAt: now.toISOString(),
      },
    });
  }
  return inboundFaxEvent(
    'sinch',
    {
      id,
      from: toText(fax['from']),
      to: toText(fax['to']),
      providerStatus,
      failed: (providerStatus ?? '').toUpperCase() === 'FAILURE',
      pages: toPages(fax['numberOfPages']),
      receivedAt: validTime(fax['completedTime']) ?? now.toISOString(),
      meta: compact({ event, error_type: toText(fax['errorType']), error_message: toText(fax['errorMessage']) }),
    },
    file,
  );
}

function seedEvent(flat: Record<string, unknown>, now: Date): Verdict<ProviderEvent> {
  const id = toText(flat['id'] ?? flat['fax_id']);
  if (!id) return bad('Sinch seed fax has no id');
  const pages = optionalPages(flat['num_pages'] ?? flat['pages'], 'num_pages');
  if (!pages.ok) return pages;
  const url = toText(flat['file_url'] ?? flat['media_url']);
  const providerStatus = toText(flat['status']);
  return inboundFaxEvent(
    'sinch',
    {
      id,
      from: toText(flat['from'] ?? flat['from_number']),
      to: toText(flat['to'] ?? flat['to_number']),
      providerStatus,
      failed: ['failed', 'failure'].includes((providerStatus ?? '').toLowerCase()),
      pages: pages.value,
      receivedAt: now.toISOString(),
      meta: {},
    },
    url ? { kind: 'url', url } : { kind: 'none' },
  );
}

/** `/sinch-inbound`: received faxes and statuses of faxes sent out, both schemes. */
export function sinchRoutes(credentials: () => SinchCredentials): ProviderRoute[] {
  return [
    {
      path: '/sinch-inbound',
      accepts: ['pdf', 'tiff'],
      checkHeaders: (req) => checkSinchHeaders(header(req.headers.authorization), header(req.headers['x-sinch-signature']), credentials()),
      receive(req, raw, now) {
        const signed = verifySinchSignature(raw, header(req.headers['x-sinch-signature']), credentials());
        return signed.ok ? parseSinch(raw, req.headers['content-type'], now) : signed;
      },
    },
  ];
}
