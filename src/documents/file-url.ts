/**
 * Fetching a seed-shaped `file_url`, the one place faxbridge follows a URL from a notification:
 * https only, host on the allow-list (checked before any request, and again on every redirect),
 * no credentials of any kind, size and time limits, and a %PDF or TIFF magic check.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { documentType } from './document-type.js';

export const DEFAULT_FILE_URL_HOSTS = ['files.phaxio.com', 'fax.api.sinch.com'];

/** The URL may not be fetched at all: the caller answers 400, and no request was made. */
export class FileUrlRefusedError extends Error {
  override name = 'FileUrlRefusedError';
}

/** The fetch was tried and failed: the caller answers 5xx so the provider retries. */
export class FileUrlFailedError extends Error {
  override name = 'FileUrlFailedError';
}

export interface FetchOptions {
  allowedHosts: readonly string[];
  maxBytes: number;
  timeoutMs?: number;
  maxRedirects?: number;
  /** Only tests replace this (to route a real TLS connection to a local server). */
  dispatcher?: Dispatcher;
}

let sharedAgent: Agent | undefined;

export function checkFileUrl(url: string, allowedHosts: readonly string[]): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FileUrlRefusedError('file_url is not a URL');
  }
  const host = u.hostname.toLowerCase();
  if (!allowedHosts.map((h) => h.toLowerCase()).includes(host)) {
    throw new FileUrlRefusedError(`file_url host ${host} is not on the allow-list (--file-url-hosts)`);
  }
  if (u.protocol !== 'https:') throw new FileUrlRefusedError(`file_url must be https, got ${u.protocol}`);
  if (u.username || u.password) throw new FileUrlRefusedError('file_url must not carry credentials');
  return u;
}

export async function fetchDocument(url: string, o: FetchOptions): Promise<Buffer> {
  let current = checkFileUrl(url, o.allowedHosts);
  const dispatcher = o.dispatcher ?? (sharedAgent ??= new Agent({ connect: { timeout: 10_000 } }));
  const signal = AbortSignal.timeout(o.timeoutMs ?? 30_000);
  for (let hop = 0; ; hop++) {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, { method: 'GET', dispatcher, signal, headers: { accept: 'application/pdf, image/tiff' } });
    } catch (err) {
      throw new FileUrlFailedError(`fetching ${current.host} failed: ${(err as Error).message}`);
    }
    if (res.statusCode >= 300 && res.statusCode < 400) {
      await res.body.dump();
      const location = res.headers['location'];
      if (typeof location !== 'string') throw new FileUrlFailedError(`redirect ${res.statusCode} without a location`);
      if (hop >= (o.maxRedirects ?? 3)) throw new FileUrlFailedError('too many redirects');
      const next = new URL(location, current).toString();
      try {
        current = checkFileUrl(next, o.allowedHosts);
      } catch (err) {
        throw new FileUrlFailedError(`redirect refused: ${(err as Error).message}`);
      }
      continue;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new FileUrlFailedError(`file_url answered ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (declared > o.maxBytes) {
      await res.body.dump();
      throw new FileUrlFailedError(`document is ${declared} bytes, over the ${o.maxBytes}-byte limit`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > o.maxBytes) {
          res.body.destroy();
          throw new FileUrlFailedError(`document is over the ${o.maxBytes}-byte limit`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof FileUrlFailedError) throw err;
      throw new FileUrlFailedError(`reading the document failed: ${(err as Error).message}`);
    }
    const bytes = Buffer.concat(chunks);
    if (documentType(bytes) === null) throw new FileUrlFailedError('the document at file_url is neither a PDF nor a TIFF');
    return bytes;
  }
}
