/**
 * A provider route as data: what to check before the body is read, and how to verify and parse
 * the raw bytes after. http/provider-routes.ts runs every one of them the same way.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { DocumentType } from '../domain/fax.js';
import type { ProviderEvent, Verdict } from './events.js';

export interface RequestParts {
  headers: IncomingHttpHeaders;
  /** Path and query exactly as requested (real Phaxio signs the URL). */
  url: string;
  query: Readonly<Record<string, unknown>>;
}

export interface ProviderRoute {
  path: string;
  /** The body limit for this route; the providers' limit when absent. */
  bodyLimit?: number;
  /** Which document types a received fax may carry on this route. */
  accepts: readonly DocumentType[];
  /** Header credentials, before the body is read (a refusal here never reads it). */
  checkHeaders(req: RequestParts): Verdict<null>;
  /** Verification on the raw bytes, then parsing. */
  receive(req: RequestParts, raw: Buffer, now: Date): Verdict<ProviderEvent>;
}

export function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
