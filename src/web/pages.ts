/**
 * The web inbox's pages as HTML strings: no template engine, no inline script or style (the
 * CSP forbids them), every value escaped. Pure: data in, markup out.
 */
import type { StatusRow } from '../inbox/statuses.js';
import { cursorAfter, type InboxRow } from '../inbox/store.js';

export function escape(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Layout {
  title: string;
  user?: string;
  csrf?: string;
  tab?: 'inbox' | 'outbound';
  body: string;
}

export function layout(o: Layout): string {
  const nav = o.user
    ? `<nav aria-label="Sections">
  <a href="/"${o.tab === 'inbox' ? ' aria-current="page"' : ''}>Received faxes</a>
  <a href="/outbound"${o.tab === 'outbound' ? ' aria-current="page"' : ''}>Sent faxes</a>
  <form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${escape(o.csrf)}"><span class="who">${escape(o.user)}</span> <button type="submit">Log out</button></form>
</nav>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(o.title)}</title>
<link rel="stylesheet" href="/static/style.css">
<script type="module" src="/static/app.js"></script>
</head>
<body>
<header><a class="brand" href="/">faxbridge</a>${nav}</header>
<main id="main">${o.body}</main>
</body>
</html>`;
}

export function loginPage(o: { error?: string; username?: string }): string {
  return layout({
    title: 'Log in — faxbridge',
    body: `<section class="login">
<h1>Log in to see your faxes</h1>
${o.error ? `<p class="error" role="alert">${escape(o.error)}</p>` : ''}
<form method="post" action="/login">
  <label for="username">User name</label>
  <input id="username" name="username" autocomplete="username" required autofocus value="${escape(o.username)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Log in</button>
</form>
</section>`,
  });
}

export interface ListView {
  rows: InboxRow[];
  unread: Set<string>;
  unreadCount: number;
  total: number;
  next: string | undefined;
  filter: { number?: string; from?: string; to?: string; status?: string };
}

export function meta(row: InboxRow): Record<string, unknown> {
  return JSON.parse(row.meta) as Record<string, unknown>;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

export function localTime(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

export function statusText(row: InboxRow): string {
  if (row.status !== 'failed') return 'Received';
  const error = text(meta(row)['faxerror']) ?? text(meta(row)['error_message']);
  return `Failed${error ? `: ${error}` : ''}`;
}

export function faxRow(row: InboxRow, unread: boolean): string {
  const m = meta(row);
  const name = text(m['from_name']) ?? text(m['caller_name']);
  const station = text(m['remote_station_id']);
  const doc = row.document_type && !row.purged_at;
  return `<tr data-fax-id="${escape(row.id)}" class="${unread ? 'unread' : 'read'}${row.status === 'failed' ? ' failed' : ''}">
  <td class="thumb">${doc ? `<a href="/fax/${escape(row.id)}" tabindex="-1" aria-hidden="true"><canvas class="thumbnail" data-pdf="/web/fax/${escape(row.id)}/pdf" width="68" height="88"></canvas></a>` : '<span class="nothumb">no page</span>'}</td>
  <td class="when"><a href="/fax/${escape(row.id)}">${escape(localTime(row.received_at))}</a>${unread ? ' <span class="badge">new</span>' : ''}</td>
  <td class="from"><span class="number">${escape(row.from_number ?? 'unknown')}</span>${name ? `<br><span class="name">${escape(name)}</span>` : ''}${station && station !== row.from_number ? `<br><span class="station">${escape(station)}</span>` : ''}</td>
  <td class="to">${escape(row.to_number ?? '')}</td>
  <td class="pages">${escape(row.pages ?? '-')}</td>
  <td class="status">${escape(statusText(row))}</td>
</tr>`;
}

export function listPage(v: ListView, user: string, csrf: string): string {
  const f = v.filter;
  const more = v.next ? `<p class="more"><a href="/?${new URLSearchParams({ ...(f as Record<string, string>), cursor: v.next }).toString()}">Older faxes</a></p>` : '';
  return layout({
    title: `${v.unreadCount ? `(${v.unreadCount}) ` : ''}Faxes — faxbridge`,
    user,
    csrf,
    tab: 'inbox',
    body: `<h1>Received faxes</h1>
<form class="filters" method="get" action="/" role="search">
  <label>Number <input name="number" inputmode="tel" value="${escape(f.number)}" placeholder="any"></label>
  <label>From <input name="from" type="date" value="${escape(f.from)}"></label>
  <label>To <input name="to" type="date" value="${escape(f.to)}"></label>
  <label>Status <select name="status"><option value="">any</option><option value="received"${f.status === 'received' ? ' selected' : ''}>received</option><option value="failed"${f.status === 'failed' ? ' selected' : ''}>failed</option></select></label>
  <button type="submit">Filter</button>
</form>
<p class="count" id="count" data-unread="${v.unreadCount}">${v.total} fax${v.total === 1 ? '' : 'es'}${v.unreadCount ? `, ${v.unreadCount} unread` : ''}</p>
<table class="faxes" id="faxes" data-newest="${escape(v.rows[0] ? cursorAfter(v.rows[0]) : '')}">
<thead><tr><th scope="col"><span class="sr">Page 1</span></th><th scope="col">Received</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Pages</th><th scope="col">Status</th></tr></thead>
<tbody>
${v.rows.map((r) => faxRow(r, v.unread.has(r.id))).join('\n') || '<tr class="empty"><td colspan="6">No faxes yet.</td></tr>'}
</tbody>
</table>
${more}`,
  });
}

export function viewerPage(row: InboxRow, unread: boolean, user: string, csrf: string): string {
  const m = meta(row);
  const facts: Array<[string, string]> = [
    ['From', row.from_number ?? 'unknown'],
    ['Caller name', text(m['from_name']) ?? text(m['caller_name']) ?? '-'],
    ['Sending station', text(m['remote_station_id']) ?? '-'],
    ['To', row.to_number ?? '-'],
    ['Pages', String(row.pages ?? '-')],
    ['Received', localTime(row.received_at)],
    ['Status', statusText(row)],
  ];
  const doc = row.document_type && !row.purged_at;
  const hidden = `<input type="hidden" name="_csrf" value="${escape(csrf)}">`;
  return layout({
    title: `Fax from ${row.from_number ?? 'unknown'} — faxbridge`,
    user,
    csrf,
    tab: 'inbox',
    body: `<div class="viewer" data-fax-id="${escape(row.id)}">
<aside class="meta">
<h1>Fax from ${escape(row.from_number ?? 'unknown')}</h1>
<dl>${facts.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join('')}</dl>
<div class="actions">
${doc ? `<a class="button" href="/web/fax/${escape(row.id)}/pdf?download=1">Download PDF</a>${row.document_type === 'tiff' ? ` <a class="button" href="/web/fax/${escape(row.id)}/tiff">Download TIFF</a>` : ''} <a class="button print" href="/web/fax/${escape(row.id)}/pdf" target="_blank" rel="noopener">Print</a>` : ''}
<form method="post" action="/fax/${escape(row.id)}/${unread ? 'read' : 'unread'}">${hidden}<button type="submit">${unread ? 'Mark as read' : 'Mark as unread'}</button></form>
<form method="post" action="/fax/${escape(row.id)}/delete" class="delete">${hidden}<button type="submit" class="danger">Delete</button></form>
</div>
</aside>
<section class="pages" aria-label="Pages">
${doc ? Array.from({ length: Math.max(1, row.pages ?? 1) }, (_, i) => `<figure><canvas class="page" data-page="${i + 1}" data-pdf="/web/fax/${escape(row.id)}/pdf" aria-label="Page ${i + 1}"></canvas><figcaption>Page ${i + 1}</figcaption></figure>`).join('\n') : '<p>No page arrived: this fax failed before its first page.</p>'}
</section>
</div>`,
  });
}

export function outboundPage(jobs: StatusRow[], histories: Map<string, StatusRow[]>, user: string, csrf: string): string {
  const row = (j: StatusRow) => `<tr><td>${escape(j.job_id)}</td><td class="status-${escape(j.status)}">${escape(j.status)}</td><td>${escape(j.provider)}</td><td>${escape(j.pages ?? '-')}</td><td>${escape([j.error_type, j.error_message].filter(Boolean).join(': ') || '-')}</td><td>${escape(localTime(j.received_at))}</td></tr>
<tr class="history"><td colspan="6"><details><summary>History (${histories.get(j.job_id)?.length ?? 0})</summary><ol>${(histories.get(j.job_id) ?? []).map((h) => `<li>${escape(localTime(h.received_at))}: ${escape(h.event)} → ${escape(h.status)}${h.provider_status ? ` (${escape(h.provider_status)})` : ''}</li>`).join('')}</ol></details></td></tr>`;
  return layout({
    title: 'Sent faxes — faxbridge',
    user,
    csrf,
    tab: 'outbound',
    body: `<h1>Sent faxes</h1>
<p>Statuses reported by Phaxio and Sinch for faxes sent through them.</p>
<table class="jobs"><thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Provider</th><th scope="col">Pages</th><th scope="col">Error</th><th scope="col">Last event</th></tr></thead>
<tbody>${jobs.map(row).join('\n') || '<tr class="empty"><td colspan="6">No sent faxes reported yet.</td></tr>'}</tbody></table>`,
  });
}
