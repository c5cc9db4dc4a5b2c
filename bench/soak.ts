/**
 * A long run against one faxbridge process: RSS after the first 1k and after every further
 * block of sessions, to show memory is flat. Each fax's TIFF is a hard link to one file, so
 * 100k faxes do not need 10 GB of spool. Rewrites its section of bench/RESULTS.md.
 *
 *   npm run soak                  (SOAK_SESSIONS=100000 by default, c=50)
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../src/store/db.js';
import { percentile, runLoad } from './load.js';
import { cpuSeconds, memoryMiB, settled } from './proc.js';
import { replaceSection, scratchDir } from './results.js';
import { startServer } from './servers.js';

const SESSIONS = Number(process.env['SOAK_SESSIONS'] ?? 100_000);
const CONCURRENCY = 50;

async function main(): Promise<void> {
  const dir = path.join(scratchDir(), 'soak');
  const spool = path.join(dir, 'spool');
  await rm(dir, { recursive: true, force: true });
  await mkdir(spool, { recursive: true });
  const server = await startServer('faxbridge', dir, spool);
  const samples: Array<{ sessions: number; rss: number }> = [];
  const marks = new Set([1000, ...Array.from({ length: 10 }, (_, i) => Math.round(((i + 1) * SESSIONS) / 10))]);
  const cpu0 = cpuSeconds(server.pid);
  const load = await runLoad({
    port: server.port,
    spool,
    sessions: SESSIONS,
    concurrency: CONCURRENCY,
    prefix: 1796000000,
    tiff: 'link',
    onSession: (done) => {
      if (marks.has(done)) samples.push({ sessions: done, rss: memoryMiB(server.pid).rss });
    },
  });
  await settled(server.pid);
  const cpuMs = ((cpuSeconds(server.pid) - cpu0) * 1000) / SESSIONS;
  const { peak } = memoryMiB(server.pid);
  await server.stop();
  const db = openDatabase(path.join(dir, 'data'), { readonly: true });
  const stored = (db.prepare('SELECT COUNT(*) AS n FROM inbox').get() as { n: number }).n;
  db.close();
  await rm(dir, { recursive: true, force: true });

  const first = samples[0]!;
  const last = samples.at(-1)!;
  const body = `Run ${new Date().toISOString()}: ${SESSIONS} sessions at c=${CONCURRENCY} against one faxbridge process, recorded \`success-3p\` session.

| after sessions | RSS MiB |
|---|---|
${samples.map((s) => `| ${s.sessions} | ${s.rss.toFixed(0)} |`).join('\n')}

RSS after 1k: ${first.rss.toFixed(0)} MiB; after ${last.sessions}: ${last.rss.toFixed(0)} MiB (**${(last.rss / first.rss).toFixed(2)}×**); peak ${peak.toFixed(0)} MiB.
${(load.sessions / load.seconds).toFixed(0)} sessions/s, p50 ${percentile(load.latencies, 50).toFixed(1)} ms, p99 ${percentile(load.latencies, 99).toFixed(1)} ms, ${cpuMs.toFixed(2)} ms CPU per session.
Acked ${load.acked}, failed ${load.failed}; inbox rows at the end: ${stored} (${stored === load.acked ? 'every acked fax is stored' : '**MISMATCH**'}).`;
  await replaceSection('soak', body);
  console.error(body);
}

await main();
