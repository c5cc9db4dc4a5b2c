/**
 * The fallback path: Asterisk writes `${FAXFILE}.pending` when no ack came back. The watcher
 * (including markers already there at start) turns each into the same event the AGI route would
 * have made, records it through the same `recordFax`, and removes the marker only once the
 * event is durable. A marker for a fax already recorded is a no-op.
 *
 * Not chokidar: it re-reads and lstats the whole directory on every event in it, and the spool
 * gains a TIFF per fax that nobody deletes, so each fax would cost a stat of every fax before
 * it. Here an inotify watch reacts to `.pending` names only, and a names-only rescan (also of
 * subdirectories) catches whatever the watch missed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { isValidUniqueid, type RecordFax } from './fax-event.js';
import { buildEvent } from './read-fax.js';
import { MARKER_SUFFIX, markerVariables, parseMarker } from './marker.js';

export interface SpoolWatcherOptions {
  spoolDir: string;
  recordFax: RecordFax;
  logger: Logger;
  now: () => Date;
  /** How often the whole spool is rescanned for markers the watch missed. */
  rescanMs?: number;
  /** How often an incomplete marker is looked at again. */
  retryMs?: number;
  maxRetries?: number;
  /** How often a spool dir that does not exist yet is looked for. */
  spoolPollMs?: number;
}

export interface SpoolWatcher {
  /** Resolves once the markers present at start have been seen (at once if the spool is missing). */
  ready: Promise<void>;
  close(): Promise<void>;
}

const MAX_MARKER_BYTES = 64 * 1024;
const MAX_DEPTH = 3;

export function watchSpool(o: SpoolWatcherOptions): SpoolWatcher {
  const log = o.logger;
  const busy = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let watcher: FSWatcher | undefined;
  let rescanTimer: NodeJS.Timeout | undefined;

  async function handle(marker: string, attempt = 0): Promise<void> {
    if (closed || busy.has(marker) || !marker.endsWith(MARKER_SUFFIX)) return;
    busy.add(marker);
    try {
      const st = await lstat(marker).catch(() => undefined);
      if (!st) return; // already handled and removed
      if (!st.isFile()) return void log.warn({ marker }, 'marker.not_a_file');
      const bytes = await readCapped(marker);
      const fields = parseMarker(bytes);
      if (!fields) {
        if (attempt < (o.maxRetries ?? 20)) return retry(marker, attempt + 1);
        return void log.warn({ marker, bytes: bytes.length }, 'marker.incomplete');
      }
      if (!isValidUniqueid(fields.uniqueid)) {
        await rename(marker, `${marker}.rejected`);
        return void log.error({ marker }, 'marker.rejected');
      }
      const faxfile = marker.slice(0, -MARKER_SUFFIX.length);
      const { event, document } = await buildEvent(o.spoolDir, fields.uniqueid, markerVariables(fields, faxfile), {}, o.now(), 'marker');
      const { created } = await o.recordFax(event, document);
      await unlink(marker);
      log.info(
        { uniqueid: fields.uniqueid, agistatus: fields.agistatus, faxstatus: event.faxstatus, tiff_pages: event.tiff_pages, outcome: created ? 'recorded' : 'duplicate' },
        'marker.ingested',
      );
    } catch (err) {
      log.error({ marker, err: String(err) }, 'marker.failed');
      if (attempt < (o.maxRetries ?? 20)) retry(marker, attempt + 1);
    } finally {
      busy.delete(marker);
    }
  }

  function retry(marker: string, attempt: number): void {
    const t = setTimeout(() => {
      timers.delete(t);
      void handle(marker, attempt);
    }, o.retryMs ?? 500);
    timers.add(t);
  }

  /** Names only (no stat per entry): a spool holds every TIFF ever received. */
  async function scan(dir: string, depth: number): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (closed) return;
      if (e.isFile() && e.name.endsWith(MARKER_SUFFIX)) void handle(path.join(dir, e.name));
      else if (e.isDirectory() && depth < MAX_DEPTH) await scan(path.join(dir, e.name), depth + 1);
    }
  }

  function start(): Promise<void> {
    watcher = watch(o.spoolDir, (_event, name) => {
      if (name && name.endsWith(MARKER_SUFFIX)) void handle(path.join(o.spoolDir, name));
    });
    watcher.on('error', (err) => log.error({ err: String(err) }, 'marker.watch_error'));
    rescanTimer = setInterval(() => void scan(o.spoolDir, 0), o.rescanMs ?? 30_000);
    rescanTimer.unref();
    return scan(o.spoolDir, 0);
  }

  // A spool dir that does not exist yet cannot be watched: wait for it, then watch.
  let waitTimer: NodeJS.Timeout | undefined;
  const ready = (async () => {
    const exists = await isDirectory(o.spoolDir);
    if (closed) return; // closed while we looked
    if (exists) return start();
    waitTimer = setInterval(async () => {
      if (!(await isDirectory(o.spoolDir)) || closed) return;
      clearInterval(waitTimer);
      log.info({ spool_dir: o.spoolDir }, 'marker.watch_started');
      await start();
    }, o.spoolPollMs ?? 5000);
    waitTimer.unref();
  })();

  return {
    ready,
    async close() {
      closed = true;
      clearInterval(waitTimer);
      clearInterval(rescanTimer);
      for (const t of timers) clearTimeout(t);
      watcher?.close();
    },
  };
}

async function isDirectory(dir: string): Promise<boolean> {
  return (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;
}

async function readCapped(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_MARKER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, MAX_MARKER_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

