/** A real daemon configured exactly as a provider fixture says, and a client that sends it. */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import type { RawOptions } from '../../src/config/config.js';
import type { DaemonOverrides } from '../../src/app/daemon.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';
import { PROVIDERS, PROVIDER_SECRETS, type HttpFixture } from './fixtures.js';

/** Keys a fixture's `config` lists are set; every other key stays unset, as the fixtures README says. */
export async function startFixtureDaemon(
  fixture: Pick<HttpFixture, 'config' | 'clock_unix' | 'setup'>,
  options: { raw?: RawOptions; env?: NodeJS.ProcessEnv; overrides?: DaemonOverrides } = {},
): Promise<TestDaemon> {
  const env: NodeJS.ProcessEnv = { FAXBRIDGE_API_KEY: 'test-api-key', ...options.env };
  const raw: RawOptions = { ...options.raw };
  for (const key of fixture.config) {
    const value = PROVIDER_SECRETS[key]!;
    if (key === 'FAXBRIDGE_PUBLIC_URL') raw.publicUrl = value;
    else if (key === 'FAXBRIDGE_FILE_URL_HOSTS') raw.fileUrlHosts = value;
    else if (key !== 'FAXBRIDGE_SPOOL_DIR') env[key] = value;
  }
  const d = await startTestDaemon({
    raw,
    env,
    overrides: { now: fixture.clock_unix ? () => new Date(fixture.clock_unix! * 1000) : undefined, ...options.overrides },
  });
  for (const f of fixture.setup?.spool_files ?? []) {
    const target = f.path.replace('/var/spool/asterisk/fax', d.spoolDir);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(PROVIDERS, 'http', f.source), target);
  }
  return d;
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** Sends the fixture's exact bytes and headers (Host and Content-Length are the client's job). */
export async function sendFixture(
  d: TestDaemon,
  fixture: HttpFixture,
  change: { headers?: Record<string, string | undefined>; body?: Buffer; path?: string } = {},
): Promise<Answer> {
  // Unsigned bodies that name the spool get the temp spool instead (fixtures README); signed ones stay exact.
  const rewrite = fixture.setup?.spool_files?.length && !fixture.headers['webhook-signature'];
  const body =
    change.body ??
    (rewrite ? Buffer.from(fixture.body.toString('latin1').split('/var/spool/asterisk/fax/').join(`${d.spoolDir}/`), 'latin1') : fixture.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...fixture.headers, ...change.headers })) {
    if (v !== undefined && k.toLowerCase() !== 'content-length' && k.toLowerCase() !== 'host') headers[k] = v;
  }
  const res = await request(`${d.httpUrl}${change.path ?? fixture.path}`, { method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
