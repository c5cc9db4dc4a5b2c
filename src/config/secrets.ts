/**
 * The secrets the daemon runs with, live. A secret that is not configured is generated once into
 * the data dir (mode 0600), so deliveries are always signed and a single box works out of the box.
 * Secrets read from files (NAME_FILE, LoadCredential=, generated) are watched: a new value takes
 * effect at once, and the old one stays accepted for the grace period, so a rotation needs no
 * restart and no window where either side is refused.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { ConfigError, readSecretFile, type SecretName, type Secrets, type SecretSlot } from './config.js';
import { writeFileDurable } from '../documents/durable-write.js';
import { isNotFound } from '../documents/spool-file.js';
import { generateSigningSecret, signingKey, SigningSecretError } from '../signing/standard-webhooks.js';

export interface RuntimeSecrets {
  /** Accepted values: current, previous, then values retired by a reload less than the grace period ago. */
  get(name: SecretName): string[];
  /** The value to send (the current one). */
  current(name: SecretName): string | undefined;
  /** The file the current value comes from, if it comes from one. */
  fileOf(name: SecretName): string | undefined;
  /** Standard Webhooks keys from FAXBRIDGE_WEBHOOK_SECRET, current first. */
  signingKeys(): Buffer[];
  /** The signing secret was configured explicitly: the receiver then requires signatures. */
  readonly signingConfigured: boolean;
  readonly internalConfigured: boolean;
  close(): Promise<void>;
}

const GENERATED: Partial<Record<SecretName, { file: string; make: () => string }>> = {
  ASTERISK_INBOUND_SECRET: { file: 'internal-secret', make: () => randomBytes(32).toString('base64url') },
  FAXBRIDGE_WEBHOOK_SECRET: { file: 'webhook-secret', make: generateSigningSecret },
  FAXBRIDGE_API_KEY: { file: 'api-key', make: () => randomBytes(24).toString('base64url') },
};

export function generatedSecretPath(dataDir: string, name: string): string {
  return path.join(dataDir, 'secrets', name);
}

export async function openSecrets(configured: Secrets, o: { dataDir: string; logger: Logger; graceMs: number; now?: () => number }): Promise<RuntimeSecrets> {
  const log = o.logger;
  const now = o.now ?? Date.now;
  const slots = new Map<SecretName, SecretSlot[]>();
  for (const [name, list] of Object.entries(configured) as Array<[SecretName, SecretSlot[]]>) {
    const gen = GENERATED[name];
    slots.set(name, list.length || !gen ? list.map((s) => ({ ...s })) : [await generated(o.dataDir, gen.file, gen.make, log)]);
  }
  for (const slot of slots.get('FAXBRIDGE_WEBHOOK_SECRET')!) checkSigning(slot.value);
  const retired: Array<{ name: SecretName; value: string; until: number }> = [];
  let keys: { from: string; keys: Buffer[] } | undefined;

  const files = [...slots.values()].flat().flatMap((s) => (s.file ? [s.file] : []));
  let watcher: FSWatcher | undefined;
  if (files.length > 0) {
    watcher = chokidar.watch(files, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 } });
    const reload = (file: string) => void reloadFile(path.resolve(file));
    watcher.on('add', reload).on('change', reload);
    watcher.on('error', (err) => log.error({ err: String(err) }, 'secret.watch_error'));
    await new Promise<void>((resolve) => watcher!.once('ready', () => resolve()));
  }

  async function reloadFile(file: string): Promise<void> {
    for (const [name, list] of slots) {
      for (const slot of list) {
        if (slot.file !== file) continue;
        let value: string;
        try {
          value = readSecretFile(name, file);
          if (name === 'FAXBRIDGE_WEBHOOK_SECRET') checkSigning(value);
        } catch (err) {
          log.error({ name, file, err: (err as Error).message }, 'secret.reload_failed');
          continue;
        }
        if (value === slot.value) continue;
        retired.push({ name, value: slot.value, until: now() + o.graceMs });
        slot.value = value;
        log.info({ name, file, old_accepted_for_s: Math.round(o.graceMs / 1000) }, 'secret.reloaded');
      }
    }
  }

  function get(name: SecretName): string[] {
    const t = now();
    for (let i = retired.length - 1; i >= 0; i--) if (retired[i]!.until <= t) retired.splice(i, 1);
    const values = slots.get(name)!.map((s) => s.value);
    for (const r of retired) if (r.name === name && !values.includes(r.value)) values.push(r.value);
    return values;
  }

  return {
    get,
    current: (name) => slots.get(name)![0]?.value,
    fileOf: (name) => slots.get(name)![0]?.file,
    signingKeys() {
      // Sign with the configured keys only; a retired key is accepted, never used to sign.
      const values = slots.get('FAXBRIDGE_WEBHOOK_SECRET')!.map((s) => s.value);
      const from = values.join(' ');
      if (keys?.from !== from) keys = { from, keys: values.map(signingKey) };
      return keys.keys;
    },
    signingConfigured: configured.FAXBRIDGE_WEBHOOK_SECRET.length > 0,
    internalConfigured: configured.ASTERISK_INBOUND_SECRET.length > 0,
    async close() {
      await watcher?.close();
    },
  };
}

/** Keys accepted on incoming signatures: configured and recently retired. */
export function verificationKeys(secrets: RuntimeSecrets): Buffer[] {
  return secrets.get('FAXBRIDGE_WEBHOOK_SECRET').map(signingKey);
}

function checkSigning(value: string): void {
  try {
    signingKey(value);
  } catch (err) {
    if (err instanceof SigningSecretError) throw new ConfigError(`FAXBRIDGE_WEBHOOK_SECRET: ${err.message}`);
    throw err;
  }
}

async function generated(dataDir: string, name: string, make: () => string, log: Logger): Promise<SecretSlot> {
  const file = generatedSecretPath(dataDir, name);
  try {
    const value = (await readFile(file, 'utf8')).trim();
    if (value) return { value, file };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const value = make();
  await writeFileDurable(file, `${value}\n`, 0o600);
  // Normal on a first start: every secret this box needs exists now, in a file only the service reads.
  log.info({ file, how_to_read: `sudo cat ${file}` }, 'secret.generated');
  return { value, file };
}
