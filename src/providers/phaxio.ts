/**
 * Phaxio, both schemes (reference/providers.md §1-3): the seed (hex HMAC-SHA256 of the raw body,
 * key PHAXIO_API_SECRET) and the real one (hex HMAC-SHA1 over the public URL, the sorted fields
 * and the files' SHA-1s, key PHAXIO_CALLBACK_TOKEN). A 64-hex header is the seed, 40-hex the real.
 */
import { createHash, createHmac } from 'node:crypto';
import type { DocumentSource, NormalizedStatus } from '../domain/fax.js';
import { matchesAny } from '../signing/constant-time.js';
import {
  bad,
  compact,
  hmacSha256Matches,
  inboundFaxEvent,
  isObject,
  jsonObject,
  ok,
  optionalPages,
  toText,
  unauthorized,
  type ProviderEvent,
  type Verdict,
  validTime,
} from './events.js';
import { field, FormBodyError, isFormBody, mediaType, parseFormBody, type FormBody } from './form-body.js';
import type { ProviderRoute, RequestParts } from './route.js';

export interface PhaxioCredentials {
  /** Seed scheme keys. */
  apiSecrets: readonly string[];
  /** Real scheme keys (callback token, "webhook token" in v2.1). */
  callbackTokens: readonly string[];
  /** The public base URL Phaxio was given, e.g. https://fax.example.com. Never the Host header. */
  publicUrl: string | undefined;
}

export type PhaxioScheme = 'seed' | 'real';

export function signatureHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['x-phaxio-signature'] ?? headers['x-phaxio-signature-sha256'];
  return (Array.isArray(v) ? v[0] : v)?.trim().toLowerCase();
}

/** Before the body is read: a signature of a known shape, and a key for its scheme. */
export function phaxioScheme(signature: string | undefined, c: PhaxioCredentials): Verdict<PhaxioScheme> {
  if (!signature) return unauthorized('Missing Phaxio signature');
  if (/^[0-9a-f]{64}$/.test(signature)) {
    return c.apiSecrets.length ? ok('seed') : unauthorized('Phaxio secret not configured (PHAXIO_API_SECRET)');
  }
  if (/^[0-9a-f]{40}$/.test(signature)) {
    if (!c.callbackTokens.length) return unauthorized('Phaxio callback token not configured (PHAXIO_CALLBACK_TOKEN)');
    if (!c.publicUrl) return unauthorized('Phaxio signatures need --public-url (the URL Phaxio was given)');
    return ok('real');
  }
  return unauthorized('Invalid Phaxio signature');
}

/** URL, then each field as name+value sorted by name, then each file as name+sha1(bytes) sorted by name. */
export function realSignedString(url: string, fields: ReadonlyArray<readonly [string, string]>, files: ReadonlyArray<readonly [string, Buffer]>): string {
  const byName = <T>(a: readonly [string, T], b: readonly [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  let s = url;
  for (const [name, value] of [...fields].sort(byName)) s += name + value;
  for (const [name, bytes] of [...files].sort(byName)) s += name + createHash('sha1').update(bytes).digest('hex');
  return s;
}

export function realSignature(token: string, signed: string): string {
  return createHmac('sha1', token).update(signed, 'utf8').digest('hex');
}

/** Verifies the real scheme against the configured URL, and the same URL without userinfo. */
function verifyReal(form: FormBody, pathAndQuery: string, signature: string, c: PhaxioCredentials): boolean {
  const urls = signedUrlCandidates(c.publicUrl!, pathAndQuery);
  const fields = form.fields.map((f) => [f.name, f.value] as const);
  const files = form.files.map((f) => [f.name, f.bytes] as const);
  const expected = urls.flatMap((u) => c.callbackTokens.map((t) => realSignature(t, realSignedString(u, fields, files))));
  return matchesAny(signature, expected);
}

function signedUrlCandidates(publicUrl: string, pathAndQuery: string): string[] {
  const base = publicUrl.replace(/\/+$/, '');
  const full = base + pathAndQuery;
  const u = new URL(full);
  if (!u.username && !u.password) return [full];
  u.username = '';
  u.password = '';
  return [full, u.toString()];
}

/** Verifies a request of either scheme; for the real scheme the form is parsed first (it signs fields). */
export function verifyPhaxio(
  scheme: PhaxioScheme,
  signature: string,
  raw: Buffer,
  contentType: string | undefined,
  pathAndQuery: string,
  c: PhaxioCredentials,
): Verdict<FormBody | null> {
  if (scheme === 'seed') return hmacSha256Matches(raw, signature, c.apiSecrets) ? ok(null) : unauthorized('Invalid Phaxio signature');
  if (!isFormBody(contentType)) return unauthorized('Invalid Phaxio signature');
  let form: FormBody;
  try {
    form = parseFormBody(raw, contentType);
  } catch (err) {
    if (err instanceof FormBodyError) return unauthorized('Invalid Phaxio signature');
    throw err;
  }
  return verifyReal(form, pathAndQuery, signature, c) ? ok(form) : unauthorized('Invalid Phaxio signature');
}

function normalizePhaxioStatus(raw: string | null): NormalizedStatus {
  switch ((raw ?? '').toLowerCase()) {
    case 'success':
      return 'success';
    case 'failure':
    case 'error':
    case 'cancelled':
    case 'partialsuccess':
      return 'failed';
    case 'queued':
    case 'pendingbatch':
    case '':
      return 'queued';
    case 'inprogress':
    case 'in_progress':
    case 'sending':
    case 'ringing':
    case 'callactive':
    case 'willretry':
      return 'in_progress';
    default:
      return 'unknown';
  }
}

/** `POST /phaxio-callback?job_id=`: the status of a fax sent out. */
export function parsePhaxioCallback(
  scheme: PhaxioScheme,
  raw: Buffer,
  contentType: string | undefined,
  form: FormBody | null,
  jobIdFromQuery: string | undefined,
  now: Date,
): Verdict<ProviderEvent> {
  const body = form ?? readForm(raw, contentType);
  if (!body) return bad('Phaxio callback body must be a form (urlencoded or multipart)');
  let fax: Record<string, unknown>;
  let event: string;
  if (scheme === 'real') {
    const json = parseFaxJson(field(body, 'fax'));
    if (!json) return bad('Phaxio callback has no fax field holding a JSON object');
    fax = json;
    event = field(body, 'event_type') ?? `direction:${toText(json['direction']) ?? field(body, 'direction') ?? 'sent'}`;
    if (event !== 'fax_completed' && event !== 'transmitting_page' && event !== 'retry_scheduled' && !event.startsWith('direction:')) {
      return ok({ kind: 'ignored', reason: `unknown Phaxio event_type ${event}` });
    }
  } else {
    fax = {
      id: field(body, 'fax[id]', 'id'),
      status: field(body, 'fax[status]', 'status'),
      num_pages: field(body, 'fax[num_pages]', 'num_pages'),
      error_type: field(body, 'fax[error_type]', 'error_type'),
      error_message: field(body, 'fax[error_message]', 'error_message'),
    };
    event = 'seed';
  }
  const id = toText(fax['id']);
  if (!id) return bad('Phaxio callback has no fax id');
  const tags = isObject(fax['tags']) ? fax['tags'] : {};
  const jobId = jobIdFromQuery || toText(tags['job_id']);
  if (!jobId) return bad('Phaxio callback has no job_id (query parameter or fax.tags.job_id)');
  const pages = optionalPages(fax['num_pages'], 'fax num_pages');
  if (!pages.ok) return pages;
  const providerStatus = toText(fax['status']);
  return ok({
    kind: 'outbound_status',
    status: {
      provider: 'phaxio',
      jobId,
      providerFaxId: id,
      event,
      status: normalizePhaxioStatus(providerStatus),
      providerStatus,
      pages: pages.value,
      errorType: toText(fax['error_type']),
      errorCode: toText(fax['error_id'] ?? fax['error_code']),
      errorMessage: toText(fax['error_message']),
      receivedAt: now.toISOString(),
    },
  });
}

/** `POST /phaxio-inbound`: a received fax, as seed JSON (`file_url`) or real multipart (`file` part). */
export function parsePhaxioInbound(
  scheme: PhaxioScheme,
  raw: Buffer,
  contentType: string | undefined,
  form: FormBody | null,
  now: Date,
): Verdict<ProviderEvent> {
  const body = form ?? readForm(raw, contentType);
  if (scheme === 'real' && !body) return bad('Phaxio inbound body must be multipart');
  if (body) {
    const json = parseFaxJson(field(body, 'fax'));
    if (json) {
      const file = body.files.find((f) => f.name === 'file') ?? body.files.find((f) => f.name === 'filename');
      return inbound(json, file ? { kind: 'inline', bytes: file.bytes } : { kind: 'none' }, now, body);
    }
    // Flat form keys, as Faxbot's own code reads them.
    const flat: Record<string, unknown> = {
      id: field(body, 'fax[id]', 'id', 'fax_id', 'faxId'),
      from_number: field(body, 'fax[from]', 'from', 'from_number'),
      to_number: field(body, 'fax[to]', 'to', 'to_number'),
      num_pages: field(body, 'fax[num_pages]', 'num_pages', 'pages'),
      status: field(body, 'fax[status]', 'status'),
    };
    const url = field(body, 'file_url', 'media_url', 'pdf_url');
    return inbound(flat, url ? { kind: 'url', url } : { kind: 'none' }, now, body);
  }
  if (mediaType(contentType) !== 'application/json') return bad('Phaxio inbound body must be JSON or multipart');
  const parsed = jsonObject(raw);
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const fax = isObject(doc['fax']) ? doc['fax'] : doc;
  const url = toText(fax['file_url'] ?? doc['file_url'] ?? fax['media_url'] ?? fax['pdf_url']);
  return inbound(fax, url ? { kind: 'url', url } : { kind: 'none' }, now, null);
}

function inbound(
  fax: Record<string, unknown>,
  document: DocumentSource,
  now: Date,
  form: FormBody | null,
): Verdict<ProviderEvent> {
  const id = toText(fax['id']);
  if (!id) return bad('Phaxio inbound fax has no id');
  const pages = optionalPages(fax['num_pages'], 'fax num_pages');
  if (!pages.ok) return pages;
  const direction = toText(fax['direction']);
  if (direction && direction !== 'received') return bad(`Phaxio inbound fax has direction ${direction}`);
  const providerStatus = toText(fax['status']);
  return inboundFaxEvent(
    'phaxio',
    {
      id,
      from: toText(fax['from_number'] ?? fax['from']),
      to: toText(fax['to_number'] ?? fax['to']),
      providerStatus,
      failed: ['failure', 'error', 'partialsuccess'].includes((providerStatus ?? '').toLowerCase()),
      pages: pages.value,
      receivedAt: validTime(fax['completed_at']) ?? now.toISOString(),
      meta: compact({
        caller_name: toText(fax['caller_name']),
        is_test: form ? field(form, 'is_test') : toText(fax['is_test']),
        error_type: toText(fax['error_type']),
        error_message: toText(fax['error_message']),
      }),
    },
    document,
  );
}

function readForm(raw: Buffer, contentType: string | undefined): FormBody | null {
  if (!isFormBody(contentType)) return null;
  try {
    return parseFormBody(raw, contentType);
  } catch (err) {
    if (err instanceof FormBodyError) return null;
    throw err;
  }
}

function parseFaxJson(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** `/phaxio-callback` (statuses of faxes sent out) and `/phaxio-inbound` (received faxes). */
export function phaxioRoutes(credentials: () => PhaxioCredentials): ProviderRoute[] {
  const checkHeaders = (req: RequestParts): Verdict<null> => {
    const scheme = phaxioScheme(signatureHeader(req.headers), credentials());
    return scheme.ok ? ok(null) : scheme;
  };
  function verified(req: RequestParts, raw: Buffer): Verdict<{ scheme: PhaxioScheme; form: FormBody | null }> {
    const c = credentials();
    const signature = signatureHeader(req.headers);
    const scheme = phaxioScheme(signature, c);
    if (!scheme.ok) return scheme;
    const form = verifyPhaxio(scheme.value, signature!, raw, req.headers['content-type'], req.url, c);
    return form.ok ? ok({ scheme: scheme.value, form: form.value }) : form;
  }
  return [
    {
      path: '/phaxio-callback',
      accepts: [],
      checkHeaders,
      receive(req, raw, now) {
        const v = verified(req, raw);
        if (!v.ok) return v;
        const q = req.query['job_id'];
        const jobId = typeof q === 'string' && q.trim() ? q.trim() : undefined;
        return parsePhaxioCallback(v.value.scheme, raw, req.headers['content-type'], v.value.form, jobId, now);
      },
    },
    {
      path: '/phaxio-inbound',
      accepts: ['pdf', 'tiff'],
      checkHeaders,
      receive(req, raw, now) {
        const v = verified(req, raw);
        return v.ok ? parsePhaxioInbound(v.value.scheme, raw, req.headers['content-type'], v.value.form, now) : v;
      },
    },
  ];
}
