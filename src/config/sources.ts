/**
 * Where settings come from, in order: flags, then `FAXBRIDGE_*` variables, then the JSON file
 * named by `--config` (or `FAXBRIDGE_CONFIG`). Every command reads the whole environment and
 * the whole file and uses what it needs, so one env file or one config file serves them all.
 * A key that is no setting at all is reported (with the likely intended name), never fatal:
 * a typo in a shared file must not lock a sysadmin out of every command.
 */
import { readFileSync } from 'node:fs';

/** Every setting by its camelCase name, and how a string from the environment becomes its value. */
export const SETTINGS = {
  agiListen: 'string',
  httpListen: 'string',
  dataDir: 'string',
  spoolDir: 'string',
  target: 'string',
  targetKind: 'string',
  logLevel: 'string',
  maxSessions: 'number',
  retrySchedule: 'string',
  publicUrl: 'string',
  fileUrlHosts: 'string',
  forwardUrl: 'list',
  sinchAllowUnauthenticated: 'boolean',
  maxBodyMb: 'number',
  secretGrace: 'string',
  retentionDays: 'number',
  mailRoute: 'list',
  smtpUrl: 'string',
  smtpRequireTls: 'boolean',
  smtpCaFile: 'string',
  mailFrom: 'string',
  mailFailed: 'boolean',
  webListen: 'string',
  edgeName: 'string',
  trustProxy: 'boolean',
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Settings = { -readonly [K in SettingName]?: SettingValue<(typeof SETTINGS)[K]> };
type SettingValue<T> = T extends 'number' ? number : T extends 'boolean' ? boolean : T extends 'list' ? string | string[] : string;

/** Variables with the prefix that are not settings: secrets (config.ts reads them) and the file's own name. */
const NOT_SETTINGS = /^FAXBRIDGE_(WEBHOOK_SECRET|API_KEY|SMTP_USER|SMTP_PASSWORD|METRICS_TOKEN)(_PREVIOUS)?(_FILE)?$|^FAXBRIDGE_CONFIG$/;

export class SettingError extends Error {
  override name = 'SettingError';
}

export interface Gathered {
  settings: Settings;
  /** One sentence per key that is no setting, naming it and what was probably meant. */
  warnings: string[];
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(name: SettingName): string {
  return `FAXBRIDGE_${kebab(name).replace(/-/g, '_').toUpperCase()}`;
}

function fromKebab(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function isSetting(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}

export function gatherSettings(flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): Gathered {
  const warnings: string[] = [];
  const fileName = typeof flags['config'] === 'string' ? flags['config'] : env['FAXBRIDGE_CONFIG'];
  const file = fileName ? readConfigFile(fileName, warnings) : {};
  const fromEnv = readEnv(env, warnings);
  const settings: Settings = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = flags[name] ?? fromEnv[name] ?? file[name];
    if (value !== undefined) (settings as Record<string, unknown>)[name] = value;
  }
  return { settings, warnings };
}

function readEnv(env: NodeJS.ProcessEnv, warnings: string[]): Settings {
  const out: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(env)) {
    if (!key.startsWith('FAXBRIDGE_') || NOT_SETTINGS.test(key) || text === undefined) continue;
    const name = fromKebab(key.slice('FAXBRIDGE_'.length).toLowerCase().replace(/_/g, '-'));
    if (!isSetting(name)) {
      warnings.push(`${key} is not a faxbridge setting and is ignored${suggest(name, (n) => envName(n))}`);
      continue;
    }
    out[name] = convert(name, text, key);
  }
  return out as Settings;
}

function readConfigFile(file: string, warnings: string[]): Settings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SettingError(`cannot read the config file ${file}: ${e.code ?? e.message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SettingError(`the config file ${file} must hold a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'mailRoutes') {
      out['mailRoute'] = mailRoutesObject(value, file);
      continue;
    }
    const name = fromKebab(key);
    if (!isSetting(name)) {
      warnings.push(`"${key}" in ${file} is not a faxbridge setting and is ignored${suggest(name, (n) => `"${n}"`)}`);
      continue;
    }
    out[name] = typeof value === 'string' ? convert(name, value, `"${key}" in ${file}`) : value;
  }
  return out as Settings;
}

/** `"mailRoutes": {"PATTERN": ["addr", ...]}` as the `PATTERN=addr,...` entries the flag takes. */
function mailRoutesObject(value: unknown, file: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SettingError(`"mailRoutes" in ${file} must be an object: {"PATTERN": ["addr", ...]}`);
  return Object.entries(value).map(([pattern, to]) => `${pattern}=${[to].flat().join(',')}`);
}

function convert(name: SettingName, text: string, where: string): unknown {
  // Several routes in one variable: FAXBRIDGE_MAIL_ROUTE='1555987*=a@x.com;*=desk@x.com'.
  if (name === 'mailRoute') return text.split(';').map((r) => r.trim()).filter(Boolean);
  switch (SETTINGS[name]) {
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new SettingError(`${where} must be a number, got "${text}"`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off|)$/i.test(text)) return false;
      throw new SettingError(`${where} must be true or false, got "${text}"`);
    default:
      return text;
  }
}

/** ` (did you mean X?)` for the closest setting name, when one is close. */
export function suggest(name: string, show: (n: SettingName) => string, candidates: readonly string[] = Object.keys(SETTINGS)): string {
  const best = closest(name.toLowerCase(), candidates);
  return best ? ` (did you mean ${show(best as SettingName)}?)` : '';
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

/** Damerau-Levenshtein (adjacent swaps count once: `spool-dri` is one step from `spool-dir`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
