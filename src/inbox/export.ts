import { readFile } from 'node:fs/promises';
import { tiffToPdf } from '../documents/tiff-to-pdf.js';
import { writeFileDurable } from '../documents/durable-write.js';
import type { InboxRow } from './store.js';

export class NoDocumentError extends Error {
  override name = 'NoDocumentError';
}

/** The record's document as PDF (converted in-process from a TIFF) or as the original TIFF. */
export async function documentAs(row: InboxRow, as: 'pdf' | 'tiff'): Promise<Buffer> {
  if (!row.document_path || !row.document_type || row.purged_at) throw new NoDocumentError(`fax ${row.id} has no document${row.purged_at ? ' (purged by retention)' : ''}`);
  const bytes = await readFile(row.document_path);
  if (as === row.document_type) return bytes;
  if (as === 'pdf') return tiffToPdf(bytes);
  throw new NoDocumentError(`fax ${row.id} arrived as PDF; there is no TIFF`);
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
