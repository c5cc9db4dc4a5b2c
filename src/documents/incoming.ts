/**
 * Turns where a request says its document is (inline bytes, a spool path, a `file_url`) into
 * checked bytes ready to be kept, or a refusal the route answers with.
 */
import { createHash } from 'node:crypto';
import type { DocumentSource, DocumentType, IncomingDocument } from '../domain/fax.js';
import { documentType } from './document-type.js';
import { fetchDocument, FileUrlFailedError, FileUrlRefusedError, type FetchOptions } from './file-url.js';
import { readSpoolFile, SpoolFileError } from './spool-file.js';

export type IncomingVerdict =
  | { ok: true; document: IncomingDocument | null }
  /** 400: the request is wrong; 502: the provider's file host failed, so it should retry. */
  | { ok: false; status: 400 | 502; message: string };

export interface IncomingOptions {
  spoolDir: string;
  fileFetch: FetchOptions;
}

export async function readIncomingDocument(
  source: DocumentSource,
  accepts: readonly DocumentType[],
  o: IncomingOptions,
): Promise<IncomingVerdict> {
  let bytes: Buffer;
  let file: IncomingDocument['file'];
  switch (source.kind) {
    case 'none':
      return { ok: true, document: null };
    case 'inline':
      bytes = source.bytes;
      break;
    case 'spool':
      try {
        const read = await readSpoolFile(o.spoolDir, source.path, { sync: true });
        bytes = read.bytes;
        file = { path: read.path, dev: read.dev, ino: read.ino };
      } catch (err) {
        if (err instanceof SpoolFileError) return { ok: false, status: 400, message: `Invalid tiff_path: ${err.reason}` };
        throw err;
      }
      break;
    case 'url':
      try {
        bytes = await fetchDocument(source.url, o.fileFetch);
      } catch (err) {
        if (err instanceof FileUrlRefusedError) return { ok: false, status: 400, message: err.message };
        if (err instanceof FileUrlFailedError) return { ok: false, status: 502, message: `Could not fetch the document: ${err.message}` };
        throw err;
      }
      break;
  }
  const type = documentType(bytes);
  if (!type || !accepts.includes(type)) {
    const message = accepts.length === 1 && accepts[0] === 'tiff' ? 'Document is not a TIFF' : 'The attached document is neither a PDF nor a TIFF';
    return { ok: false, status: 400, message };
  }
  return { ok: true, document: { bytes, type, sha256: createHash('sha256').update(bytes).digest('hex'), file } };
}
