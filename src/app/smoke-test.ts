/**
 * `faxbridge simulate`: a smoke test a sysadmin can trust. It asks the running daemon where its
 * spool is, plays Asterisk with a real fax TIFF, and then reads back what was stored, so it
 * reports success only for a fax that is in the inbox with its document.
 */
import { readFile, unlink } from 'node:fs/promises';
import { request } from 'undici';
import { simulateFax, type SimulateOptions } from '../asterisk/simulate.js';
import { connectableHost, type Config, type ListenAddress } from '../config/config.js';
import { generatedSecretPath } from '../config/secrets.js';
import { inboxId } from '../inbox/store.js';
import { DEFAULT_UNIT_FILE, parseUnit } from './unit-file.js';

/** What simulate plays (the call), plus where the daemon is; the spool is asked of the daemon. */
export interface SmokeOptions extends Pick<SimulateOptions, 'agi' | 'status' | 'pages' | 'from' | 'callerName' | 'to' | 'uniqueid'> {
  config: Config;
  http: ListenAddress;
  tiff: string;
}

export type SmokeOutcome =
  | { kind: 'no-daemon'; message: string }
  | { kind: 'not-acked'; uniqueid: string; agistatus: string }
  | { kind: 'stored'; uniqueid: string; id: string; pages: number | null; document: { type: string; bytes: number } | null; problem: string | null }
  | { kind: 'queued'; uniqueid: string; target: string }
  | { kind: 'acked'; uniqueid: string; id: string; why: string };

interface Health {
  spool_dir?: string;
  target?: string;
}

export async function smokeTest(o: SmokeOptions): Promise<SmokeOutcome> {
  if (!(await readFile(o.tiff).then(() => true, () => false))) return { kind: 'no-daemon', message: `cannot read the TIFF ${o.tiff}` };
  const base = `http://${connectableHost(o.http.host)}:${o.http.port}`;
  let health: Health;
  try {
    const res = await request(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
    health = (await res.body.json()) as Health;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      kind: 'no-daemon',
      message: `no faxbridge answers on ${o.http.host}:${o.http.port} (${why}). Start it (systemctl start faxbridge, or faxbridge serve), or point --http at it.`,
    };
  }
  if (!health.spool_dir) return { kind: 'no-daemon', message: `${base}/healthz did not say where the spool is: is this a faxbridge?` };

  const uniqueid = o.uniqueid ?? `${Math.floor(Date.now() / 1000)}.${Math.floor(Math.random() * 100_000)}`;
  let result;
  try {
    result = await simulateFax({ ...o, agi: o.agi, spoolDir: health.spool_dir, uniqueid });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { kind: 'no-daemon', message: `the daemon's spool dir ${health.spool_dir} does not exist: create it (Asterisk's FAXFILE directory) or fix --spool-dir` };
    if (e.code === 'EACCES') return { kind: 'no-daemon', message: `cannot write into the spool dir ${health.spool_dir} as this user: run as root or as a member of the asterisk group` };
    return { kind: 'no-daemon', message: `the FastAGI port ${o.agi.host}:${o.agi.port} did not answer (${e.code ?? e.message}): is --agi-listen different?` };
  } finally {
    // The daemon linked or copied what it kept; the smoke test leaves the spool as it found it.
    await unlink(`${health.spool_dir}/${uniqueid}.tiff`).catch(() => {});
  }
  if (!result.acked) return { kind: 'not-acked', uniqueid, agistatus: result.agistatus };
  if (health.target && health.target !== 'local') return { kind: 'queued', uniqueid, target: health.target };

  const id = inboxId('asterisk', uniqueid);
  const key = await apiKey(o.config);
  if (!key) return { kind: 'acked', uniqueid, id, why: 'no API key readable here to read the record back' };
  const res = await request(`${base}/inbound/${id}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5000) });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return { kind: 'acked', uniqueid, id, why: `reading the record back answered ${res.statusCode}` };
  }
  const record = (await res.body.json()) as { pages: number | null; document: { type: string; bytes: number } | null; meta: { tiff_problem?: string } };
  return { kind: 'stored', uniqueid, id, pages: record.pages, document: record.document, problem: record.meta.tiff_problem ?? null };
}

/** The inbox API key as the daemon has it: configured, the unit's credential, or generated into the data dir. */
async function apiKey(config: Config): Promise<string | undefined> {
  const configured = config.secrets.FAXBRIDGE_API_KEY[0]?.value;
  if (configured) return configured;
  const unit = await readFile(DEFAULT_UNIT_FILE, 'utf8').then(parseUnit, () => undefined);
  const files = [unit?.credentials.get('FAXBRIDGE_API_KEY'), generatedSecretPath(config.dataDir, 'api-key')];
  for (const file of files) {
    const key = file ? await readFile(file, 'utf8').then((t) => t.trim() || undefined, () => undefined) : undefined;
    if (key) return key;
  }
  return undefined;
}
