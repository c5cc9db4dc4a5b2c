import type { DocumentType } from '../domain/fax.js';
import { isTiffMagic } from './tiff.js';

export type { DocumentType } from '../domain/fax.js';

/** What a fax document is, by its magic bytes; null for anything else. */
export function documentType(bytes: Uint8Array): DocumentType | null {
  if (bytes.length >= 5 && Buffer.from(bytes.subarray(0, 5)).toString('latin1') === '%PDF-') return 'pdf';
  return isTiffMagic(bytes) ? 'tiff' : null;
}
