/**
 * Standard Webhooks v1 (symmetric): sign and verify `${id}.${timestamp}.${body}` with
 * HMAC-SHA256, base64 (reference/webhooks.md §1).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { matchesAny } from './constant-time.js';

export const TOLERANCE_SECONDS = 300;
const PREFIX = 'whsec_';

export class SigningSecretError extends Error {
  override name = 'SigningSecretError';
}

/** The HMAC key is the base64-decoded bytes after `whsec_` (the prefix is optional, padding too). */
export function signingKey(secret: string): Buffer {
  const b64 = secret.trim().startsWith(PREFIX) ? secret.trim().slice(PREFIX.length) : secret.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new SigningSecretError('signing secret is not whsec_ followed by base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 16) throw new SigningSecretError(`signing secret decodes to ${key.length} bytes; at least 16 are needed`);
  return key;
}

export function generateSigningSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

function signature(key: Buffer, id: string, timestamp: string, body: Uint8Array | string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

/** The `webhook-signature` value: one `v1,<base64>` per key, space-separated (rotation). */
export function signWebhook(keys: readonly Buffer[], id: string, timestamp: number, body: Uint8Array | string): string {
  return keys.map((k) => `v1,${signature(k, id, String(timestamp), body)}`).join(' ');
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type WebhookVerdict = { ok: true } | { ok: false; reason: 'missing-headers' | 'stale-timestamp' | 'bad-signature' };

export function verifyWebhook(
  headers: WebhookHeaders,
  body: Uint8Array | string,
  keys: readonly Buffer[],
  nowSeconds: number,
  toleranceSeconds = TOLERANCE_SECONDS,
): WebhookVerdict {
  const { id, timestamp, signature: header } = headers;
  if (!id || !timestamp || !header) return { ok: false, reason: 'missing-headers' };
  if (!/^\d{1,15}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    return { ok: false, reason: 'stale-timestamp' };
  }
  const offered = header
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3));
  const expected = keys.map((k) => signature(k, id, timestamp, body));
  const ok = offered.some((sig) => matchesAny(sig, expected));
  return ok ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
