/**
 * The shapes every part of faxbridge speaks: a received fax, where its document is, and the
 * status of a fax sent out. A leaf module: providers, the inbox and the routes import it, and
 * it imports nothing of theirs.
 */

export type FaxSource = 'asterisk' | 'phaxio' | 'sinch';

export type DocumentType = 'pdf' | 'tiff';

/** A received fax, normalized, whatever its source. */
export interface InboundFax {
  source: FaxSource;
  /** The natural key: Asterisk's UNIQUEID or the provider's fax id. */
  providerId: string;
  webhookId: string | null;
  from: string | null;
  to: string | null;
  status: 'received' | 'failed';
  providerStatus: string | null;
  pages: number | null;
  receivedAt: string;
  meta: Record<string, unknown>;
}

/** Where a received document is when a request announces it. */
export type DocumentSource =
  | { kind: 'inline'; bytes: Buffer }
  | { kind: 'url'; url: string }
  | { kind: 'spool'; path: string }
  | { kind: 'none' };

/**
 * A document ready to be kept: its bytes (already read and checked), and, when it is a file
 * faxbridge may link instead of copying, that file with the inode the bytes were read from
 * (its data already fsynced, so a link makes it durable).
 */
export interface IncomingDocument {
  bytes: Buffer;
  type: DocumentType;
  sha256: string;
  file?: { path: string; dev: number; ino: number };
}

export type NormalizedStatus = 'queued' | 'in_progress' | 'success' | 'failed' | 'unknown';

export const FINAL_STATUSES: readonly NormalizedStatus[] = ['success', 'failed'];

/** The status of a fax someone sent out through a provider, keyed by our job id. */
export interface OutboundStatus {
  provider: 'phaxio' | 'sinch';
  jobId: string;
  providerFaxId: string;
  /** `fax_completed`, `FAX_COMPLETED`, `seed`, ... */
  event: string;
  status: NormalizedStatus;
  providerStatus: string | null;
  pages: number | null;
  errorType: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  receivedAt: string;
}
