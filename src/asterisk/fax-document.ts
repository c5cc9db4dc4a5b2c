/**
 * Finds and checks the TIFF ReceiveFAX left for one fax: FAXFILE, else `<spool>/<UNIQUEID>.tif[f]`,
 * accepted only inside the spool (documents/spool-file.ts), then inspected in-process.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { IncomingDocument } from '../domain/fax.js';
import { readSpoolFile, SpoolFileError, type SpoolFile } from '../documents/spool-file.js';
import { inspectTiff, NotTiffError } from '../documents/tiff.js';
import type { AsteriskFaxEvent } from './fax-event.js';

/** What the event says of the document. */
export type FaxDocumentFacts = Pick<AsteriskFaxEvent, 'tiff_path' | 'tiff_pages' | 'tiff_sha256' | 'tiff_bytes' | 'tiff_problem'>;

export interface ExaminedDocument {
  facts: FaxDocumentFacts;
  /** The checked bytes, to be kept with the record; null when there is nothing worth keeping. */
  document: IncomingDocument | null;
}

const NONE = { tiff_path: null, tiff_pages: null, tiff_sha256: null, tiff_bytes: null } as const;

export async function examineFaxDocument(spoolDir: string, faxfile: string | null | undefined, uniqueid: string): Promise<ExaminedDocument> {
  const candidates = faxfile
    ? [faxfile]
    : [path.join(spoolDir, `${uniqueid}.tif`), path.join(spoolDir, `${uniqueid}.tiff`)];
  let refusal: SpoolFileError | undefined;
  for (const candidate of candidates) {
    try {
      return inspect(await readSpoolFile(spoolDir, candidate, { sync: true }));
    } catch (err) {
      if (!(err instanceof SpoolFileError)) throw err;
      if (err.reason !== 'missing' || !refusal) refusal = err;
    }
  }
  // ReceiveFAX leaves no file when phase C never completed a page (reference/agi.md §8).
  const problem = refusal?.reason === 'missing' ? 'no file' : `refused: ${refusal?.message ?? 'no candidate'}`;
  return { facts: { ...NONE, tiff_problem: problem }, document: null };
}

function inspect(file: SpoolFile): ExaminedDocument {
  let info;
  const sha256 = createHash('sha256').update(file.bytes).digest('hex');
  try {
    info = inspectTiff(file.bytes);
  } catch (err) {
    if (err instanceof NotTiffError) return { facts: { ...NONE, tiff_problem: `refused: ${err.message}: ${file.path}` }, document: null };
    // A TIFF our reader cannot follow is still the fax: keep it, flag it, and never lose the event.
    return {
      facts: { tiff_path: file.path, tiff_pages: null, tiff_sha256: sha256, tiff_bytes: file.bytes.length, tiff_problem: `unreadable TIFF structure: ${(err as Error).message}` },
      document: { bytes: file.bytes, type: 'tiff', sha256, file: { path: file.path, dev: file.dev, ino: file.ino } },
    };
  }
  if (info.pages.length === 0) {
    return { facts: { ...NONE, tiff_pages: 0, tiff_problem: info.problem ?? 'zero pages' }, document: null };
  }
  return {
    facts: { tiff_path: file.path, tiff_pages: info.pages.length, tiff_sha256: sha256, tiff_bytes: file.bytes.length, tiff_problem: info.problem ?? null },
    document: { bytes: file.bytes, type: 'tiff', sha256, file: { path: file.path, dev: file.dev, ino: file.ino } },
  };
}
