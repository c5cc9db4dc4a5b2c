// The web inbox's only script (the CSP allows no other): renders fax pages with pdf.js, served
// by faxbridge itself, and brings new faxes into an open list without a reload.
import * as pdfjs from '/static/pdf.min.mjs';

pdfjs.GlobalWorkerOptions.workerSrc = '/static/pdf.worker.min.mjs';
const documents = new Map();

function load(url) {
  if (!documents.has(url)) documents.set(url, pdfjs.getDocument({ url, isEvalSupported: false, withCredentials: true }).promise);
  return documents.get(url);
}

/** Draws one page into its canvas at `cssWidth` pixels wide, keeping the page's own proportions. */
async function draw(canvas, pageNumber, cssWidth) {
  const doc = await load(canvas.dataset.pdf);
  const page = await doc.getPage(pageNumber);
  const base = page.getViewport({ scale: 1 });
  const scale = (cssWidth / base.width) * (window.devicePixelRatio || 1);
  const viewport = page.getViewport({ scale });
  canvas.width = Math.round(viewport.width);
  canvas.height = Math.round(viewport.height);
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${Math.round((cssWidth * base.height) / base.width)}px`;
  await page.render({ canvasContext: canvas.getContext('2d'), viewport, background: '#ffffff' }).promise;
  canvas.dataset.rendered = '1';
}

function thumbnails(root) {
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      seen.unobserve(e.target);
      draw(e.target, 1, 68).catch(() => (e.target.dataset.rendered = 'error'));
    }
  });
  for (const c of root.querySelectorAll('canvas.thumbnail:not([data-rendered])')) seen.observe(c);
}

async function viewer() {
  const pages = [...document.querySelectorAll('canvas.page')];
  for (const canvas of pages) {
    const width = Math.min(canvas.parentElement.clientWidth || 800, 900);
    await draw(canvas, Number(canvas.dataset.page), width).catch(() => (canvas.dataset.rendered = 'error'));
  }
}

function live() {
  const table = document.getElementById('faxes');
  if (!table || new URLSearchParams(location.search).has('cursor')) return;
  const body = table.tBodies[0];
  const newest = () => body.querySelector('tr[data-fax-id]')?.dataset.cursor ?? '';
  const poll = async () => {
    try {
      const params = new URLSearchParams(location.search);
      params.set('newest', table.dataset.newest ?? '');
      const res = await fetch(`/web/api/updates?${params}`, { credentials: 'same-origin' });
      if (res.status === 401) return location.assign('/login');
      const data = await res.json();
      for (const row of data.rows.reverse()) {
        if (body.querySelector(`tr[data-fax-id="${CSS.escape(row.id)}"]`)) continue;
        body.querySelector('tr.empty')?.remove();
        body.insertAdjacentHTML('afterbegin', row.html);
        table.dataset.newest = row.cursor > (table.dataset.newest ?? '') ? row.cursor : table.dataset.newest;
      }
      if (data.rows.length) thumbnails(body);
      document.title = `${data.unread ? `(${data.unread}) ` : ''}Faxes — faxbridge`;
      const count = document.getElementById('count');
      if (count) count.dataset.unread = String(data.unread);
    } catch {
      // The daemon restarting: try again at the next tick.
    }
  };
  table.dataset.newest = table.dataset.newest ?? newest();
  setInterval(poll, 2000);
}

for (const button of document.querySelectorAll('form.delete button')) {
  button.addEventListener('click', (e) => {
    if (!confirm('Delete this fax? Its pages are removed; the record of it stays.')) e.preventDefault();
  });
}
thumbnails(document);
viewer();
live();
