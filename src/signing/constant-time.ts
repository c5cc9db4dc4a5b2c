import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality for secrets and signatures of any length: both sides are hashed to
 * 32 bytes first, so neither the content nor the length of the expected value leaks.
 */
export function safeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** True when `candidate` equals any of `secrets`; every secret is compared, match or not. */
export function matchesAny(candidate: string | Uint8Array, secrets: readonly (string | Uint8Array)[]): boolean {
  let found = false;
  for (const s of secrets) found = safeEqual(candidate, s) || found;
  return found;
}

function digest(v: string | Uint8Array): Buffer {
  return createHash('sha256').update(v).digest();
}
