import { parseDuration } from '../config/duration.js';

/**
 * What to do after a delivery attempt, and when to try again (reference/webhooks.md §5).
 * Pure, so the schedule and the status classes are tested without a clock or a network.
 */

const S = 1000;
const M = 60 * S;
const H = 60 * M;

/** Delay before attempt i: the Standard Webhooks example schedule, about 3 days in all. */
export const DEFAULT_SCHEDULE_MS: readonly number[] = [0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H];
export const JITTER = 0.2;

export type Verdict =
  | { action: 'delivered' }
  | { action: 'dead'; why: string }
  | { action: 'retry'; why: string; configError?: boolean; retryAfterMs?: number };

export function classifyResponse(status: number, headers: Readonly<Record<string, string | string[] | undefined>>, now: number): Verdict {
  if (header(headers, 'webhook-delivery')?.toLowerCase() === 'abort-message') {
    return { action: 'dead', why: `target asked to abort (status ${status})` };
  }
  if (status >= 200 && status < 300) return { action: 'delivered' };
  if (status >= 300 && status < 400) return { action: 'retry', why: `redirect ${status} (redirects are never followed)` };
  if (status === 400 || status === 413 || status === 422) return { action: 'dead', why: `target refused the event (${status})` };
  if (status === 410) return { action: 'dead', why: 'target is gone (410)' };
  if (status === 401 || status === 403 || status === 404) {
    return { action: 'retry', why: `target answered ${status}: check the target URL and secrets`, configError: true };
  }
  const retryAfterMs = [429, 502, 503, 504].includes(status) ? parseRetryAfter(header(headers, 'retry-after'), now) : undefined;
  return retryAfterMs === undefined ? { action: 'retry', why: `status ${status}` } : { action: 'retry', why: `status ${status}`, retryAfterMs };
}

/**
 * Delay before the next attempt after `attemptsMade` attempts, with ±20% jitter, never shorter
 * than the target's Retry-After. `undefined` once the schedule is used up: dead-letter.
 */
export function nextDelayMs(
  attemptsMade: number,
  schedule: readonly number[],
  options: { random?: () => number; retryAfterMs?: number } = {},
): number | undefined {
  const base = schedule[attemptsMade];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 + (((options.random ?? Math.random)() * 2 - 1) * JITTER)));
  return Math.max(jittered, options.retryAfterMs ?? 0);
}

export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Parses `0,5s,5m,30m,2h` (ms when no unit). */
export function parseSchedule(text: string): number[] {
  return text.split(',').map((part) => {
    try {
      return parseDuration(part);
    } catch {
      throw new RangeError(`bad retry schedule step "${part}" (use e.g. 0,5s,5m,30m,2h)`);
    }
  });
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
