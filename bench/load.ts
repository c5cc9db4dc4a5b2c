/**
 * The Asterisk side of the benchmark: `concurrency` callers replay the recorded `success-3p`
 * session byte for byte, each with its own UNIQUEID and its own copy of the TIFF in the spool
 * (as ReceiveFAX leaves it), and time each session from connect to close.
 */
import { copyFile, link, unlink } from 'node:fs/promises';
import path from 'node:path';
import { replaySession } from '../test/helpers/fake-asterisk.js';
import { ASTERISK, loadSession, type RecordedSession } from '../test/helpers/fixtures.js';

export interface LoadResult {
  sessions: number;
  acked: number;
  failed: number;
  seconds: number;
  /** Session latencies, ms, sorted. */
  latencies: number[];
}

const TEMPLATE = loadSession('success-3p');
const TEMPLATE_TEXT = JSON.stringify(TEMPLATE);
export const TIFF = path.join(ASTERISK, 'tiffs', 'success-3p.tiff');
export const COMMANDS = TEMPLATE.exchanges!.map((e) => e.send);

export function sessionFor(uniqueid: string): RecordedSession {
  return JSON.parse(TEMPLATE_TEXT.split(TEMPLATE.call.uniqueid).join(uniqueid)) as RecordedSession;
}

export interface LoadOptions {
  port: number;
  spool: string;
  sessions: number;
  concurrency: number;
  /** UNIQUEIDs are `${prefix}.${i}`. */
  prefix: number;
  /**
   * `copy`: a fresh file per fax, as Asterisk writes one; `link`: hard links to a few copies
   * (long soaks: 100k faxes need no 10 GB, and no inode reaches ext4's 65,000 links).
   */
  tiff: 'copy' | 'link';
  /** Called after each session (soak samples memory here). */
  onSession?: (done: number) => void;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let acked = 0;
  let failed = 0;
  const started = performance.now();
  const sources = new Map<number, Promise<string>>();
  const linkSource = (i: number) => {
    const block = Math.floor(i / 10_000);
    if (!sources.has(block)) {
      const file = path.join(path.dirname(o.spool), `source-${block}.tiff`);
      sources.set(block, copyFile(TIFF, file).then(() => file));
    }
    return sources.get(block)!;
  };
  async function caller(): Promise<void> {
    while (next < o.sessions) {
      const i = next++;
      const uniqueid = `${o.prefix}.${i}`;
      const session = sessionFor(uniqueid);
      const faxfile = path.join(o.spool, `${uniqueid}.tiff`);
      await (o.tiff === 'copy' ? copyFile(TIFF, faxfile) : link(await linkSource(i), faxfile));
      const t0 = performance.now();
      const r = await replaySession(o.port, session, o.spool, { timeoutMs: 30_000 }).catch((err: Error) => ({ mismatch: err.message }));
      latencies.push(performance.now() - t0);
      if (r.mismatch) failed++;
      else acked++;
      o.onSession?.(acked + failed);
      await unlink(faxfile).catch(() => {});
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, caller));
  latencies.sort((a, b) => a - b);
  return { sessions: o.sessions, acked, failed, seconds: (performance.now() - started) / 1000, latencies };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
