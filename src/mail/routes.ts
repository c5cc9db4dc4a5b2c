/**
 * Fax-to-email routing by number, the way HylaFAX's FaxDispatch and FreePBX do it: a number
 * pattern (domain/number-pattern.ts) against the digits of the fax's "to" (the DID); the
 * longest matching pattern wins. Pure.
 */
import { isNumberPattern, matchStrength } from '../domain/number-pattern.js';

export interface MailRoute {
  pattern: string;
  recipients: string[];
}

export class MailRouteError extends Error {
  override name = 'MailRouteError';
}

// The usual shape of an address (RFC 5321 mailbox, no display name): what a sysadmin types.
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function isAddress(value: string): boolean {
  return value.length <= 254 && ADDRESS.test(value);
}

/** `PATTERN=ADDR[,ADDR...]` as a flag or an env entry gives it. */
export function parseRouteSpec(spec: string): MailRoute {
  const eq = spec.indexOf('=');
  if (eq === -1) throw new MailRouteError(`mail route "${spec}" must be PATTERN=ADDR[,ADDR...] (e.g. 1555987*=fax@example.com)`);
  return route(spec.slice(0, eq).trim(), spec.slice(eq + 1).split(','));
}

export function route(pattern: string, recipients: readonly string[]): MailRoute {
  if (!isNumberPattern(pattern)) {
    throw new MailRouteError(`mail route pattern "${pattern}" must be digits (15559870000), digits then * (1555987*), or * (every fax)`);
  }
  const list = recipients.map((r) => r.trim()).filter(Boolean);
  if (list.length === 0) throw new MailRouteError(`mail route ${pattern} has no recipient`);
  for (const r of list) if (!isAddress(r)) throw new MailRouteError(`mail route ${pattern}: "${r}" is not an email address`);
  return { pattern, recipients: list };
}

/** The recipients for a fax to `to`, or undefined when no route matches. */
export function recipientsFor(routes: readonly MailRoute[], to: string | null): string[] | undefined {
  let best: MailRoute | undefined;
  let bestStrength = -1;
  for (const r of routes) {
    const strength = matchStrength(r.pattern, to);
    if (strength !== undefined && strength > bestStrength) [best, bestStrength] = [r, strength];
  }
  return best?.recipients;
}
