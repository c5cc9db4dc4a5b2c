/**
 * A record's document as PDF or TIFF, for every reader (API, web inbox, mail, CLI): checked
 * against the digest taken when the fax was stored (a hard-linked spool file rewritten in place
 * must not be served as the fax), and converted in-process, with the last few PDFs cached.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileDurable } from '../documents/durable-write.js';
import { PdfConversionError, tiffToPdf } from '../documents/tiff-to-pdf.js';
import type { InboxRow } from './store.js';

export { PdfConversionError } from '../documents/tiff-to-pdf.js';

export class NoDocumentError extends Error {
  override name = 'NoDocumentError';
}

/** The file on disk is not the document that was stored (it changed after the ack). */
export class DocumentChangedError extends Error {
  override name = 'DocumentChangedError';
}

const PDF_CACHE_ENTRIES = 32;
const pdfCache = new Map<string, Buffer>();

export async function documentAs(row: InboxRow, as: 'pdf' | 'tiff'): Promise<Buffer> {
  if (!row.document_path || !row.document_type || row.purged_at) throw new NoDocumentError(`fax ${row.id} has no document${row.deleted_at ? ' (deleted in the web inbox)' : row.purged_at ? ' (purged by retention)' : ''}`);
  if (as === 'tiff' && row.document_type !== 'tiff') throw new NoDocumentError(`fax ${row.id} arrived as PDF; there is no TIFF`);
  const cacheKey = `${row.id}:${row.document_sha256}`;
  const cached = as === 'pdf' ? pdfCache.get(cacheKey) : undefined;
  if (cached) return cached;
  const bytes = await readFile(row.document_path);
  if (row.document_sha256 && createHash('sha256').update(bytes).digest('hex') !== row.document_sha256) {
    throw new DocumentChangedError(`the document of fax ${row.id} changed on disk after it was stored (${row.document_path})`);
  }
  if (as === row.document_type) return bytes;
  const pdf = tiffToPdf(bytes);
  pdfCache.delete(cacheKey);
  pdfCache.set(cacheKey, pdf);
  if (pdfCache.size > PDF_CACHE_ENTRIES) pdfCache.delete(pdfCache.keys().next().value!);
  return pdf;
}

/** The HTTP answer for a document that cannot be served: 404 none, 409 changed, 422 unconvertible. */
export function documentErrorStatus(err: unknown): { status: 404 | 409 | 422; message: string } | undefined {
  if (err instanceof NoDocumentError) return { status: 404, message: err.message };
  if (err instanceof DocumentChangedError) return { status: 409, message: err.message };
  if (err instanceof PdfConversionError) return { status: 422, message: `this fax's TIFF cannot be converted to PDF: ${err.message}; download the TIFF instead` };
  return undefined;
}

export async function exportDocument(row: InboxRow, to: { pdf?: string; tiff?: string }): Promise<string[]> {
  const written: string[] = [];
  for (const as of ['pdf', 'tiff'] as const) {
    const file = to[as];
    if (!file) continue;
    await writeFileDurable(file, await documentAs(row, as), 0o644);
    written.push(file);
  }
  return written;
}
