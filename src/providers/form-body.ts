/**
 * Form bodies as providers send them, pure: `multipart/form-data` (parts kept byte-exact, in
 * arrival order, repeated names kept) and `application/x-www-form-urlencoded`.
 */

export interface FormField {
  name: string;
  value: string;
}

export interface FormFile {
  name: string;
  filename: string;
  contentType: string | null;
  bytes: Buffer;
}

export interface FormBody {
  fields: FormField[];
  files: FormFile[];
}

export class FormBodyError extends Error {
  override name = 'FormBodyError';
}

const MAX_PARTS = 200;

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isFormBody(contentType: string | undefined): boolean {
  const t = mediaType(contentType);
  return t === 'multipart/form-data' || t === 'application/x-www-form-urlencoded';
}

export function parseFormBody(raw: Buffer, contentType: string | undefined): FormBody {
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') {
    return { fields: [...new URLSearchParams(raw.toString('utf8'))].map(([name, value]) => ({ name, value })), files: [] };
  }
  if (type !== 'multipart/form-data') throw new FormBodyError(`expected a form body, got ${type || 'no content type'}`);
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new FormBodyError('multipart body without a boundary');
  return parseMultipart(raw, boundary);
}

export function parseMultipart(raw: Buffer, boundary: string): FormBody {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const body: FormBody = { fields: [], files: [] };
  let pos = raw.indexOf(delimiter);
  if (pos === -1) throw new FormBodyError('multipart boundary not found');
  for (let n = 0; ; n++) {
    pos += delimiter.length;
    if (raw.subarray(pos, pos + 2).toString('latin1') === '--') return body;
    if (n >= MAX_PARTS) throw new FormBodyError(`more than ${MAX_PARTS} parts`);
    if (raw.subarray(pos, pos + 2).toString('latin1') !== '\r\n') throw new FormBodyError('malformed multipart delimiter line');
    pos += 2;
    const headerEnd = raw.indexOf('\r\n\r\n', pos, 'latin1');
    if (headerEnd === -1) throw new FormBodyError('multipart part without a header end');
    const headers = parsePartHeaders(raw.subarray(pos, headerEnd).toString('utf8'));
    const dataStart = headerEnd + 4;
    const next = raw.indexOf(Buffer.concat([Buffer.from('\r\n', 'latin1'), delimiter]), dataStart);
    if (next === -1) throw new FormBodyError('multipart body is cut short');
    const data = raw.subarray(dataStart, next);
    const disposition = headers.get('content-disposition') ?? '';
    const name = param(disposition, 'name');
    if (name === undefined) throw new FormBodyError('multipart part without a name');
    const filename = param(disposition, 'filename');
    if (filename !== undefined) {
      body.files.push({ name, filename, contentType: headers.get('content-type') ?? null, bytes: Buffer.from(data) });
    } else {
      body.fields.push({ name, value: data.toString('utf8') });
    }
    pos = next + 2;
  }
}

function parsePartHeaders(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

function param(header: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** The first value of a field, or undefined. */
export function field(body: FormBody, ...names: string[]): string | undefined {
  for (const n of names) {
    const f = body.fields.find((x) => x.name === n);
    if (f) return f.value;
  }
  return undefined;
}
