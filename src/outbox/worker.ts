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
  /** Told each attempt's outcome (metrics). */
  onOutcome?: (outcome: 'delivered' | 'retry' | 'dead') => void;
  concurrency?: number;
  /** Longest sleep between looks at the table, so `outbox retry` from the CLI is noticed. */
  pollMs?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  now?: () => number;
}

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

  function tick(): void {
    if (stopped) return;
    const free = concurrency - running.size;
    if (free > 0) {
      for (const row of outbox.due(now(), free + running.size)) {
        if (running.size >= concurrency) break;
        if (running.has(row.id)) continue;
        const abort = new AbortController();
        const done = attempt(row, abort.signal)
          .catch((err) => log.error({ outbox_id: row.id, err: String(err) }, 'outbox.worker_error'))
          .finally(() => {
            running.delete(row.id);
            scheduleTick(0);
          });
        running.set(row.id, { done, abort });
      }
    }
    // Rows still due now are the ones in flight (or waiting for a slot): their completion ticks.
    const next = outbox.nextDueAt();
    const wait = next === undefined ? pollMs : next - now();
    scheduleTick(wait <= 0 && running.size > 0 ? pollMs : wait);
  }

  async function attempt(row: OutboxRow, signal: AbortSignal): Promise<void> {
    const started = now();
    const url = options.resolveTarget(row.target);
    const ctx = { outbox_id: row.id, webhook_id: row.webhook_id, target: redactUrl(url), attempt: row.attempts + 1 };
    let body: string;
    try {
      body = await buildDeliveryBody(row, { spoolDir: options.spoolDir, pinDir: options.pinDir, faxbotCopyDir: options.faxbotCopyDir });
    } catch (err) {
      const error = `document unavailable: ${(err as Error).message}`;
      outbox.markDead(row.id, { status: null, error, response: null }, now());
      options.onOutcome?.('dead');
      log.error({ ...ctx, err: error }, 'outbox.dead');
      return;
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

    let status: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let responseText: string;
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: agent,
        signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      status = res.statusCode;
      responseHeaders = res.headers;
      responseText = await readLimited(res.body, RESPONSE_KEEP_BYTES);
    } catch (err) {
      if (signal.aborted) return; // shutdown: leave the row pending, due now
      const error = describeNetworkError(err);
      retryOrDie(row, ctx, { status: null, error, response: null }, undefined, false);
      return;
    }
    const verdict = classifyResponse(status, responseHeaders, now());
    const latency_ms = now() - started;
    const outcome = { status, error: verdict.action === 'delivered' ? null : verdict.why, response: responseText || null };
    if (verdict.action === 'delivered') {
      outbox.markDelivered(row.id, { ...outcome, responseId: responseId(responseText) }, now());
      options.onOutcome?.('delivered');
      log.info({ ...ctx, status, latency_ms }, 'outbox.delivered');
      if (row.tiff_path && isPinned(row.tiff_path, options.pinDir)) {
        await unlink(row.tiff_path).catch((err: unknown) => {
          if (!isNotFound(err)) log.warn({ outbox_id: row.id, err: String(err) }, 'outbox.unpin_failed');
        });
      }
    } else if (verdict.action === 'dead') {
      outbox.markDead(row.id, outcome, now());
      options.onOutcome?.('dead');
      log.error({ ...ctx, status, latency_ms, reason: verdict.why }, 'outbox.dead');
    } else {
      retryOrDie(row, ctx, outcome, verdict.retryAfterMs, verdict.configError ?? false);
    }
  }

  function retryOrDie(
    row: OutboxRow,
    ctx: Record<string, unknown>,
    outcome: { status: number | null; error: string | null; response: string | null },
    retryAfterMs: number | undefined,
    configError: boolean,
  ): void {
    const delay = nextDelayMs(row.attempts + 1, schedule, { retryAfterMs });
    if (delay === undefined) {
      outbox.markDead(row.id, outcome, now());
      options.onOutcome?.('dead');
      log.error({ ...ctx, status: outcome.status, reason: outcome.error }, 'outbox.dead');
      return;
    }
    outbox.markRetry(row.id, outcome, now() + delay, now());
    options.onOutcome?.('retry');
    const fields = { ...ctx, status: outcome.status, reason: outcome.error, retry_in_ms: delay };
    if (configError) log.error(fields, 'outbox.target_config_error');
    else log.warn(fields, 'outbox.retry');
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
