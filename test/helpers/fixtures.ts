import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Recorded fixtures live in the repository (test/fixtures/README.md says where they come from). */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = path.join(repoRoot, 'test', 'fixtures');
export const ASTERISK = path.join(FIXTURES, 'asterisk');
export const PROVIDERS = path.join(FIXTURES, 'providers');

export interface Exchange {
  send: string;
  recv: string[];
  recv_chunks: string[];
}

export interface RecordedSession {
  scenario: string;
  connected: boolean;
  agisighup: string;
  call: { did: string; caller_num: string; caller_name: string; uniqueid: string };
  header_chunks: string[];
  header: Record<string, string>;
  variables: Record<string, string | null> | null;
  exchanges: Exchange[] | null;
  unsolicited: Array<{ after_exchange: number; during_exchange: number | null; bytes: string }>;
  close: { final_bytes_after_server_fin: string | null; server_action: string };
  faxfile: string;
  tiff: string | null;
  tiff_info: { bytes: number; tiffinfo_pages: number } | null;
  marker: string | null;
}

export function loadSession(scenario: string): RecordedSession {
  return JSON.parse(readFileSync(path.join(ASTERISK, 'sessions', `${scenario}.json`), 'utf8')) as RecordedSession;
}

export function sessionIndex(): Array<{ scenario: string; tiff: string | null; faxstatus: string; faxpages: string; ack: string | null }> {
  return JSON.parse(readFileSync(path.join(ASTERISK, 'sessions', 'index.json'), 'utf8'));
}

export function withSpool(text: string, spool: string): string {
  return text.split('${SPOOL}').join(spool);
}

export interface HttpFixture {
  name: string;
  path: string;
  headers: Record<string, string>;
  config: string[];
  clock_unix?: number | null;
  expect: { status: number; stored: boolean; record?: Record<string, unknown> };
  setup?: { spool_files?: Array<{ path: string; source: string }> } | null;
  body: Buffer;
}

export function loadHttpFixture(name: string): HttpFixture {
  const meta = JSON.parse(readFileSync(path.join(PROVIDERS, 'http', `${name}.json`), 'utf8'));
  return { ...meta, body: readFileSync(path.join(PROVIDERS, 'http', `${name}.body`)) };
}

export const PROVIDER_SECRETS: Record<string, string> = JSON.parse(readFileSync(path.join(PROVIDERS, 'secrets.json'), 'utf8')).env;
