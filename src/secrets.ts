/**
 * Secrets the daemon runs with. A secret not configured is generated once into the data dir
 * (mode 0600), so deliveries are always signed and a single box works out of the box.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Secrets } from './config.js';
import { writeFileDurable } from './documents/durable-write.js';
import { isNotFound } from './documents/spool-file.js';
import { generateSigningSecret, signingKey, SigningSecretError } from './signing/standard-webhooks.js';

export interface RuntimeSecrets {
  internalSecrets: string[];
  apiKeys: string[];
  signingKeys: Buffer[];
  /** True when the signing secret was configured explicitly: then the receiver requires signatures. */
  signingConfigured: boolean;
  internalConfigured: boolean;
}

export async function resolveSecrets(secrets: Secrets, dataDir: string, log: Logger): Promise<RuntimeSecrets> {
  const signing = secrets.webhookSigning.length
    ? secrets.webhookSigning
    : [await generatedSecret(dataDir, 'webhook-secret', generateSigningSecret, log)];
  const internal = secrets.asteriskInbound.length
    ? secrets.asteriskInbound
    : [await generatedSecret(dataDir, 'internal-secret', () => randomBytes(32).toString('base64url'), log)];
  const apiKeys = secrets.apiKeys.length
    ? secrets.apiKeys
    : [await generatedSecret(dataDir, 'api-key', () => randomBytes(24).toString('base64url'), log)];
  let signingKeys: Buffer[];
  try {
    signingKeys = signing.map(signingKey);
  } catch (err) {
    if (err instanceof SigningSecretError) throw new ConfigError(`FAXBRIDGE_WEBHOOK_SECRET: ${err.message}`);
    throw err;
  }
  return {
    internalSecrets: internal,
    apiKeys,
    signingKeys,
    signingConfigured: secrets.webhookSigning.length > 0,
    internalConfigured: secrets.asteriskInbound.length > 0,
  };
}

export function generatedSecretPath(dataDir: string, name: string): string {
  return path.join(dataDir, 'secrets', name);
}

async function generatedSecret(dataDir: string, name: string, make: () => string, log: Logger): Promise<string> {
  const file = generatedSecretPath(dataDir, name);
  try {
    const value = (await readFile(file, 'utf8')).trim();
    if (value) return value;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const value = make();
  await writeFileDurable(file, `${value}\n`, 0o600);
  log.warn({ file, how_to_read: `sudo cat ${file}` }, 'secret.generated');
  return value;
}
