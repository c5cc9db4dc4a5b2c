/**
 * Finds and checks the TIFF ReceiveFAX left for one fax: FAXFILE, else `<spool>/<UNIQUEID>.tif[f]`,
 * accepted only inside the spool (documents/spool-file.ts), then inspected in-process.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readSpoolFile, SpoolFileError } from '../documents/spool-file.js';
import { inspectTiff, NotTiffError } from '../documents/tiff.js';
import type { AsteriskFaxEvent } from './fax-event.js';

export type FaxDocument = Pick<AsteriskFaxEvent, 'tiff_path' | 'tiff_pages' | 'tiff_sha256' | 'tiff_bytes' | 'tiff_problem'>;

const NONE = { tiff_path: null, tiff_pages: null, tiff_sha256: null, tiff_bytes: null } as const;

export async function examineFaxDocument(spoolDir: string, faxfile: string | null | undefined, uniqueid: string): Promise<FaxDocument> {
  const candidates = faxfile
    ? [faxfile]
    : [path.join(spoolDir, `${uniqueid}.tif`), path.join(spoolDir, `${uniqueid}.tiff`)];
  let refusal: SpoolFileError | undefined;
  for (const candidate of candidates) {
    try {
      const file = await readSpoolFile(spoolDir, candidate);
      return inspect(file.path, file.bytes);
    } catch (err) {
      if (!(err instanceof SpoolFileError)) throw err;
      if (err.reason !== 'missing' || !refusal) refusal = err;
    }
  }
  // ReceiveFAX leaves no file when phase C never completed a page (reference/agi.md §8).
  return { ...NONE, tiff_problem: refusal?.reason === 'missing' ? 'no file' : `refused: ${refusal?.message ?? 'no candidate'}` };
}

function inspect(realPath: string, bytes: Buffer): FaxDocument {
  let info;
  try {
    info = inspectTiff(bytes);
  } catch (err) {
    if (err instanceof NotTiffError) return { ...NONE, tiff_problem: `refused: ${err.message}: ${realPath}` };
    throw err;
  }
  if (info.pages.length === 0) {
    return { ...NONE, tiff_pages: 0, tiff_problem: info.problem ?? 'zero pages' };
  }
  return {
    tiff_path: realPath,
    tiff_pages: info.pages.length,
    tiff_sha256: createHash('sha256').update(bytes).digest('hex'),
    tiff_bytes: bytes.length,
    tiff_problem: info.problem ?? null,
  };
}
