/**
 * Delivery worker: sends due outbox rows as signed POSTs, records each outcome, and schedules
 * the next try. A row changes state only after the target's answer, so a crash at any point
 * leaves it pending and it is sent again after the restart (the receiver deduplicates).
 */
import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import path from 'node:path';
import { writeFileDurable } from '../documents/durable-write.js';
import { isNotFound, readSpoolFile } from '../documents/spool-file.js';
import { tiffToPdf } from '../documents/tiff-to-pdf.js';
import { redactUrl } from '../log/logger.js';
import { signWebhook } from '../signing/standard-webhooks.js';
import { PRIMARY_TARGET, type Outbox, type OutboxRow } from './queue.js';
import { classifyResponse, nextDelayMs } from './retry-policy.js';

export interface DeliveryCredentials {
  /** `X-Internal-Secret`; undefined sends none. */
  internalSecret(): string | undefined;
  /** Standard Webhooks keys, current first. */
  signingKeys(): Buffer[];
}

export interface WorkerOptions {
  outbox: Outbox;
  credentials: DeliveryCredentials;
  logger: Logger;
  spoolDir: string;
  /** Where documents of queued faxes are pinned (record-fax.ts); removed once delivered. */
  pinDir: string;
  schedule: readonly number[];
  /** Turns a row's stored target into the URL to POST to now (see PRIMARY_TARGET). */
  resolveTarget: (stored: string) => string;
  /** Set when the primary target is a Faxbot: PDF copies for it are written here. */
  faxbotCopyDir?: string;
  /** Sends a mail row (see MAIL_TARGET_PREFIX). */
  mail?: (row: OutboxRow) => Promise<AttemptResult>;
  /** Told each attempt's outcome (metrics). */
  onOutcome?: (kind: 'outbox' | 'mail', outcome: 'delivered' | 'retry' | 'dead') => void;
  concurrency?: number;
  /** Longest sleep between looks at the table, so `outbox retry` from the CLI is noticed. */
  pollMs?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  now?: () => number;
}

/** Outbox rows whose target starts with this are emails (mail/deliver.ts); the rest are HTTP. */
export const MAIL_TARGET_PREFIX = 'mail:';

/** What one attempt came to, whatever carried it. */
export type AttemptResult =
  | { action: 'delivered'; status: number | null; error: null; response: string | null; responseId: string | null }
  | { action: 'retry' | 'dead'; status: number | null; error: string; response: string | null; retryAfterMs?: number; configError?: boolean };

export interface DeliveryWorker {
  start(): void;
  /** Look for due rows now (after an enqueue). */
  wake(): void;
  /** Stops picking rows; waits up to `graceMs` for attempts in flight, then aborts them (they stay pending). */
  stop(graceMs?: number): Promise<void>;
  inFlight(): number;
}

const RESPONSE_KEEP_BYTES = 4096;

export function createDeliveryWorker(options: WorkerOptions): DeliveryWorker {
  const { outbox, credentials, logger: log, schedule } = options;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 4;
  const pollMs = options.pollMs ?? 2000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const agent = new Agent({ connect: { timeout: options.connectTimeoutMs ?? 5000 }, headersTimeout: requestTimeoutMs, bodyTimeout: requestTimeoutMs });
  const running = new Map<number, { done: Promise<void>; abort: AbortController }>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  function scheduleTick(delay: number): void {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(tick, Math.max(0, Math.min(delay, pollMs)));
  }

  // A row whose attempt itself failed (the database cannot record the outcome: a full disk)
  // stays due; it waits here, longer each time, instead of being tried again at once.
  const held = new Map<number, { until: number; errors: number }>();
  let lastErrorLog = -Infinity;
  let suppressed = 0;

  function workerError(row: OutboxRow, err: unknown): void {
    const h = held.get(row.id) ?? { until: 0, errors: 0 };
    h.errors++;
    h.until = now() + Math.min(60_000, 500 * 2 ** Math.min(h.errors, 7));
    held.set(row.id, h);
    if (now() - lastErrorLog < 60_000) return void suppressed++;
    log.error({ outbox_id: row.id, err: String(err), retry_in_ms: h.until - now(), suppressed }, 'outbox.worker_error');
    lastErrorLog = now();
    suppressed = 0;
  }

  function tick(): void {
    if (stopped) return;
    const free = concurrency - running.size;
    let started = 0;
    if (free > 0) {
      for (const row of outbox.due(now(), free + running.size + held.size)) {
        if (running.size >= concurrency) break;
        if (running.has(row.id) || (held.get(row.id)?.until ?? 0) > now()) continue;
        const abort = new AbortController();
        started++;
        const done = attempt(row, abort.signal)
          .then(() => void held.delete(row.id))
          .catch((err) => workerError(row, err))
          .finally(() => {
            running.delete(row.id);
            scheduleTick(0);
          });
        running.set(row.id, { done, abort });
      }
    }
    if (started === 0 && running.size === 0 && held.size > 0) {
      // Everything due is held back: sleep until the first hold ends.
      const first = Math.min(...[...held.values()].map((h) => h.until));
      return scheduleTick(Math.max(first - now(), 50));
    }
    // Rows still due now are the ones in flight (or waiting for a slot): their completion ticks.
    const next = outbox.nextDueAt();
    const wait = next === undefined ? pollMs : next - now();
    scheduleTick(wait <= 0 && running.size > 0 ? pollMs : wait);
  }

  async function attempt(row: OutboxRow, signal: AbortSignal): Promise<void> {
    const started = now();
    const mail = row.target.startsWith(MAIL_TARGET_PREFIX);
    const kind = mail ? 'mail' : 'outbox';
    const target = mail ? row.target : redactUrl(options.resolveTarget(row.target));
    const ctx = { outbox_id: row.id, webhook_id: row.webhook_id, target, attempt: row.attempts + 1 };
    const result = mail ? await sendMail(row) : await post(row, signal);
    if (result === 'aborted') return; // shutdown: leave the row pending, due now
    const latency_ms = now() - started;
    const outcome = { status: result.status, error: result.error, response: result.response };
    if (result.action === 'delivered') {
      outbox.markDelivered(row.id, { ...outcome, responseId: result.responseId }, now());
      options.onOutcome?.(kind, 'delivered');
      log.info({ ...ctx, status: result.status, latency_ms }, mail ? 'mail.sent' : 'outbox.delivered');
      if (row.tiff_path && isPinned(row.tiff_path, options.pinDir)) {
        await unlink(row.tiff_path).catch((err: unknown) => {
          if (!isNotFound(err)) log.warn({ outbox_id: row.id, err: String(err) }, 'outbox.unpin_failed');
        });
      }
      return;
    }
    const delay = result.action === 'retry' ? nextDelayMs(row.attempts + 1, schedule, { retryAfterMs: result.retryAfterMs }) : undefined;
    if (delay === undefined) {
      outbox.markDead(row.id, outcome, now());
      options.onOutcome?.(kind, 'dead');
      log.error({ ...ctx, status: result.status, latency_ms, reason: result.error }, `${kind}.dead`);
      return;
    }
    outbox.markRetry(row.id, outcome, now() + delay, now());
    options.onOutcome?.(kind, 'retry');
    const fields = { ...ctx, status: result.status, reason: result.error, retry_in_ms: delay };
    if (result.configError) log.error(fields, `${kind}.target_config_error`);
    else log.warn(fields, `${kind}.retry`);
  }

  async function sendMail(row: OutboxRow): Promise<AttemptResult> {
    if (!options.mail) return { action: 'retry', status: null, error: 'mail is not configured (--smtp-url) in this run', response: null, configError: true };
    return options.mail(row);
  }

  async function post(row: OutboxRow, signal: AbortSignal): Promise<AttemptResult | 'aborted'> {
    let body: string;
    try {
      body = await buildDeliveryBody(row, { spoolDir: options.spoolDir, pinDir: options.pinDir, faxbotCopyDir: options.faxbotCopyDir });
    } catch (err) {
      return { action: 'dead', status: null, error: `document unavailable: ${(err as Error).message}`, response: null };
    }
    const ts = Math.floor(now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'faxbridge',
      'webhook-id': row.webhook_id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook(credentials.signingKeys(), row.webhook_id, ts, body),
    };
    const secret = row.target === PRIMARY_TARGET ? credentials.internalSecret() : undefined;
    if (secret) headers['x-internal-secret'] = secret;
    try {
      const res = await request(options.resolveTarget(row.target), {
        method: 'POST',
        headers,
        body,
        dispatcher: agent,
        signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const text = await readLimited(res.body, RESPONSE_KEEP_BYTES);
      const verdict = classifyResponse(res.statusCode, res.headers, now());
      if (verdict.action === 'delivered') return { action: 'delivered', status: res.statusCode, error: null, response: text || null, responseId: responseId(text) };
      return { action: verdict.action, status: res.statusCode, error: verdict.why, response: text || null, retryAfterMs: verdict.action === 'retry' ? verdict.retryAfterMs : undefined, configError: verdict.action === 'retry' ? verdict.configError : false };
    } catch (err) {
      if (signal.aborted) return 'aborted';
      return { action: 'retry', status: null, error: describeNetworkError(err), response: null };
    }
  }

  return {
    start() {
      stopped = false;
      scheduleTick(0);
    },
    wake() {
      scheduleTick(0);
    },
    async stop(graceMs = 5000) {
      stopped = true;
      clearTimeout(timer);
      const all = [...running.values()];
      if (all.length > 0) {
        const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
        await Promise.race([Promise.allSettled(all.map((r) => r.done)), grace]);
        for (const r of running.values()) r.abort.abort();
        await Promise.allSettled(all.map((r) => r.done));
      }
      await agent.close();
    },
    inFlight: () => running.size,
  };
}

/**
 * The exact bytes to sign and send. Forwarded events go as stored. The primary target gets the
 * TIFF itself (it may be on another host, and the spool may have been cleaned since the ack),
 * checked against the digest taken when Asterisk was acknowledged; a Faxbot gets a path to a
 * PDF copy of its own instead, because its Ghostscript cannot read TIFF and its retention
 * deletes that file.
 */
export async function buildDeliveryBody(
  row: Pick<OutboxRow, 'target' | 'body' | 'tiff_path' | 'tiff_sha256' | 'webhook_id'>,
  dirs: { spoolDir: string; pinDir: string; faxbotCopyDir?: string },
): Promise<string> {
  if (row.target !== PRIMARY_TARGET) return row.body;
  if (!row.tiff_path) {
    if (dirs.faxbotCopyDir) throw new Error('a Faxbot target cannot record a fax without a document (failed reception)');
    return row.body;
  }
  // Rows queued before documents were pinned still name the spool file.
  const bytes = isPinned(row.tiff_path, dirs.pinDir) ? await readFile(row.tiff_path) : (await readSpoolFile(dirs.spoolDir, row.tiff_path)).bytes;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (row.tiff_sha256 && sha256 !== row.tiff_sha256) throw new Error(`TIFF changed since it was received: ${row.tiff_path}`);
  if (dirs.faxbotCopyDir) {
    const copy = path.join(dirs.faxbotCopyDir, `${row.webhook_id}.pdf`);
    await writeFileDurable(copy, tiffToPdf(bytes));
    return JSON.stringify({ ...JSON.parse(row.body), tiff_path: copy });
  }
  return JSON.stringify({ ...JSON.parse(row.body), tiff_sha256: sha256, tiff_base64: bytes.toString('base64') });
}

function isPinned(file: string, pinDir: string): boolean {
  return path.dirname(file) === pinDir;
}

async function readLimited(body: AsyncIterable<Buffer> & { dump?: () => Promise<void> }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

function responseId(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
  } catch {
    return null;
  }
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string };
  return e.code ? `${e.code}: ${e.message}` : `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
}
