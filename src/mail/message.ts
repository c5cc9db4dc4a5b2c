/**
 * The email a received fax becomes: a subject and a body a front desk reads at a glance, and
 * the fax itself attached, as PDF (or the TIFF, saying why, when no PDF could be made). Pure:
 * a record and its document in, a message out. Numbers are never masked here: this is for the
 * people the fax is for.
 */
import { createHash } from 'node:crypto';
import type { InboxRow } from '../inbox/store.js';

export interface Attachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

export interface FaxMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  attachments: Attachment[];
}

/** What could be attached: the PDF, the TIFF when the PDF could not be made, or nothing. */
export type MailDocument =
  | { kind: 'pdf'; bytes: Buffer }
  | { kind: 'tiff'; bytes: Buffer; why: string }
  | { kind: 'none'; why: 'no page arrived' | 'purged' };

export interface MailOptions {
  from: string;
  to: readonly string[];
  hostname: string;
  /** The web inbox's address of this fax, when the web inbox is on. */
  link?: string;
}

/** Stable per fax and per recipient set, so a resend after a crash can be recognised. */
export function faxMessageId(inboxId: string, to: readonly string[], hostname: string): string {
  const set = createHash('sha256').update([...to].sort().join(',').toLowerCase()).digest('hex').slice(0, 8);
  return `<fax-${inboxId}.${set}@${hostname}>`;
}

export function faxMail(row: InboxRow, document: MailDocument, o: MailOptions): FaxMail {
  const meta = JSON.parse(row.meta) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const name = text(meta['from_name']) ?? text(meta['caller_name']);
  const station = text(meta['remote_station_id']);
  const failed = row.status === 'failed';
  const error = text(meta['faxerror']) ?? text(meta['error_message']);
  const pages = row.pages ?? 0;
  const sender = name ?? row.from_number ?? 'an unknown sender';
  const subject = `${failed ? 'Failed fax' : 'Fax'} from ${sender} — ${pages} ${pages === 1 ? 'page' : 'pages'}`;
  const received = localTime(row.received_at);

  const facts: Array<[string, string]> = [
    ['From', [row.from_number ?? 'unknown number', name ? `(${name})` : ''].filter(Boolean).join(' ')],
  ];
  if (station) facts.push(['Sending station', station]);
  facts.push(['To', row.to_number ?? 'unknown'], ['Pages', String(pages)], ['Received', received], ['Status', failed ? 'FAILED' : 'received']);
  if (error) facts.push(['Error', error]);
  facts.push(['Inbox id', row.id]);
  if (o.link) facts.push(['View', o.link]);

  const note = documentNote(document, failed);
  const attachments: Attachment[] = [];
  const base = fileBase(row);
  if (document.kind === 'pdf') attachments.push({ filename: `${base}.pdf`, content: document.bytes, contentType: 'application/pdf' });
  if (document.kind === 'tiff') attachments.push({ filename: `${base}.tiff`, content: document.bytes, contentType: 'image/tiff' });

  const width = Math.max(...facts.map(([k]) => k.length));
  return {
    from: o.from,
    to: [...o.to],
    subject,
    messageId: faxMessageId(row.id, o.to, o.hostname),
    text: [note, '', ...facts.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`), '', '-- faxbridge'].join('\n'),
    html: `<!doctype html><html><body style="font-family:sans-serif;font-size:15px;color:#111">
<p style="font-size:17px"><strong>${escape(note)}</strong></p>
<table cellpadding="4" style="border-collapse:collapse">
${facts.map(([k, v]) => `<tr><th align="left" style="color:#444;padding-right:16px">${escape(k)}</th><td>${k === 'View' ? `<a href="${escape(v)}">${escape(v)}</a>` : escape(v)}</td></tr>`).join('\n')}
</table>
<p style="color:#666;font-size:13px">Sent by faxbridge.</p>
</body></html>`,
    attachments,
  };
}

function documentNote(d: MailDocument, failed: boolean): string {
  const partial = failed ? ' (the pages that arrived before the fax failed)' : '';
  switch (d.kind) {
    case 'pdf':
      return `The fax is attached as a PDF${partial}.`;
    case 'tiff':
      return `The fax is attached as a TIFF${partial}: a PDF could not be made (${d.why}).`;
    case 'none':
      return d.why === 'purged'
        ? 'The document is no longer kept (removed by retention).'
        : 'No page arrived: the fax failed before its first page, so nothing is attached.';
  }
}

/** `fax-2026-12-01-0830-from-15551230000`: when it came and from whom, in the box's time zone. */
function fileBase(row: InboxRow): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(row.received_at))
      .map((p) => [p.type, p.value]),
  );
  const from = (row.from_number ?? 'unknown').replace(/[^0-9A-Za-z+]/g, '') || 'unknown';
  return `fax-${parts['year']}-${parts['month']}-${parts['day']}-${parts['hour']}${parts['minute']}-from-${from}`;
}

/** In the box's local time zone (TZ), with the zone named, e.g. "Tue, 1 Dec 2026, 08:30 CET". */
function localTime(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(new Date(iso));
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
