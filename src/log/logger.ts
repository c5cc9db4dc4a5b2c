import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Field names that may hold a secret anywhere in a log object; pino replaces their values. */
const REDACT = [
  'secret',
  '*.secret',
  'signature',
  '*.signature',
  'authorization',
  '*.authorization',
  'headers["x-internal-secret"]',
  'headers["webhook-signature"]',
  '*.headers["x-internal-secret"]',
  '*.headers["webhook-signature"]',
  'tiff_base64',
  '*.tiff_base64',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'faxbridge',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A phone number as info-level logs show it: only the last four digits. */
export function maskNumber(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return value ?? null;
  const keep = value.slice(-4);
  return `${'*'.repeat(Math.max(0, Math.min(value.length - 4, 8)))}${keep}`;
}

/** A URL as it may appear in logs: no user info, no query string. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}
