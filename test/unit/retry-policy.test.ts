import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyResponse, DEFAULT_SCHEDULE_MS, nextDelayMs, parseRetryAfter, parseSchedule } from '../../src/outbox/retry-policy.js';

describe('retry policy', () => {
  it('follows the Standard Webhooks schedule: about 3 days, then dead', () => {
    const total = DEFAULT_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    assert.equal(total, (75 * 60 + 35) * 60 * 1000 + 5000);
    assert.equal(nextDelayMs(1, DEFAULT_SCHEDULE_MS, { random: () => 0.5 }), 5000);
    assert.equal(nextDelayMs(DEFAULT_SCHEDULE_MS.length, DEFAULT_SCHEDULE_MS), undefined);
  });

  it('jitters by ±20%, and honours a longer Retry-After', () => {
    assert.equal(nextDelayMs(2, DEFAULT_SCHEDULE_MS, { random: () => 0 }), 240_000);
    assert.equal(nextDelayMs(2, DEFAULT_SCHEDULE_MS, { random: () => 1 }), 360_000);
    assert.equal(nextDelayMs(1, DEFAULT_SCHEDULE_MS, { random: () => 0.5, retryAfterMs: 60_000 }), 60_000);
  });

  it('classifies responses as webhooks.md §5 says', () => {
    const c = (status: number, headers: Record<string, string> = {}) => classifyResponse(status, headers, 0);
    assert.equal(c(200).action, 'delivered');
    assert.equal(c(204).action, 'delivered');
    for (const s of [400, 413, 422, 410]) assert.equal(c(s).action, 'dead', String(s));
    for (const s of [401, 403, 404]) assert.deepEqual({ ...c(s), why: '' }, { action: 'retry', why: '', configError: true });
    for (const s of [301, 302, 500, 502, 503, 504, 429]) assert.equal(c(s).action, 'retry', String(s));
    assert.deepEqual(c(503, { 'retry-after': '120' }), { action: 'retry', why: 'status 503', retryAfterMs: 120_000 });
    assert.equal(c(200, { 'webhook-delivery': 'abort-message' }).action, 'dead');
  });

  it('parses Retry-After dates and schedules', () => {
    assert.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.deepEqual(parseSchedule('0,5s,5m,2h,1d,250'), [0, 5000, 300_000, 7_200_000, 86_400_000, 250]);
    assert.throws(() => parseSchedule('5x'), /bad retry schedule/);
  });
});
