/**
 * The AGI hand-off and the HTTP receiver, each against baselines measured in the same run on the
 * same machine; compare the ratios across runs, not the absolute numbers. Loopback only, bounded.
 * Rewrites its sections of bench/RESULTS.md.
 *
 *   npm run bench                 (BENCH_SCALE=0.2 for a quick look)
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_SESSIONS } from '../src/agi/server.js';
import { openDatabase } from '../src/store/db.js';
import { percentile, runLoad, type LoadResult } from './load.js';
import { cpuSeconds, memoryMiB, settled } from './proc.js';
import { replaceSection, RESULTS, scratchDir } from './results.js';
import { startServer, type ServerKind } from './servers.js';

const SCALE = Number(process.env['BENCH_SCALE'] ?? 1);
const LEVELS = [
  { concurrency: 1, sessions: Math.round(300 * SCALE) },
  { concurrency: 50, sessions: Math.round(3000 * SCALE) },
  { concurrency: 500, sessions: Math.round(6000 * SCALE) },
];
const KINDS: ServerKind[] = ['bare', 'bare+fsync', 'ding-dong', 'faxbridge'];

interface Measured {
  kind: ServerKind;
  concurrency: number;
  load: LoadResult;
  cpuMsPerSession: number;
  peakMiB: number;
  /** faxbridge only: inbox rows at the end, i.e. sessions provably stored. */
  stored: number | null;
}

async function measure(kind: ServerKind, concurrency: number, sessions: number, prefix: number): Promise<Measured> {
  const dir = path.join(scratchDir(), `${kind}-${concurrency}`);
  const spool = path.join(dir, 'spool');
  await rm(dir, { recursive: true, force: true });
  await mkdir(spool, { recursive: true });
  const server = await startServer(kind, dir, spool);
  const cpu0 = cpuSeconds(server.pid);
  const load = await runLoad({ port: server.port, spool, sessions, concurrency, prefix, tiff: 'copy' });
  await settled(server.pid);
  const cpu = cpuSeconds(server.pid) - cpu0;
  const peakMiB = memoryMiB(server.pid).peak;
  await server.stop();
  let stored: number | null = null;
  if (kind === 'faxbridge') {
    const db = openDatabase(path.join(dir, 'data'), { readonly: true });
    stored = (db.prepare('SELECT COUNT(*) AS n FROM inbox WHERE document_path IS NOT NULL').get() as { n: number }).n;
    db.close();
  }
  await rm(dir, { recursive: true, force: true });
  return { kind, concurrency, load, cpuMsPerSession: (cpu * 1000) / sessions, peakMiB, stored };
}

async function httpBench(): Promise<string> {
  const dir = path.join(scratchDir(), 'http');
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'spool'), { recursive: true });
  const server = await startServer('faxbridge', dir, path.join(dir, 'spool'));
  const secret = readFileSync(path.join(dir, 'data', 'secrets', 'internal-secret'), 'utf8').trim();
  const url = `http://127.0.0.1:${server.httpPort}`;
  const cannon = (opts: autocannon.Options) => new Promise<autocannon.Result>((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
  const duplicate = JSON.stringify({ tiff_path: null, to_number: '1', from_number: '2', faxstatus: 'FAILED', faxpages: 0, uniqueid: '1795910000.0' });
  const seconds = Math.max(2, Math.round(5 * SCALE));
  const healthz = await cannon({ url: `${url}/healthz`, connections: 10, duration: seconds });
  const inbound = await cannon({
    url: `${url}/_internal/asterisk/inbound`,
    method: 'POST',
    connections: 10,
    duration: seconds,
    headers: { 'content-type': 'application/json', 'x-internal-secret': secret },
    body: duplicate,
  });
  await server.stop();
  await rm(dir, { recursive: true, force: true });
  return `Baseline: \`GET /healthz\` on the same daemon. Measured: \`POST /_internal/asterisk/inbound\` repeating a stored
event (secret check, JSON parse, idempotent lookup, the same answer). autocannon, 10 connections, ${seconds} s each.

| route | req/s (mean) | p50 ms | p99 ms |
|---|---|---|---|
| GET /healthz (baseline) | ${healthz.requests.average.toFixed(0)} | ${healthz.latency.p50} | ${healthz.latency.p99} |
| POST /_internal/asterisk/inbound (duplicate) | ${inbound.requests.average.toFixed(0)} | ${inbound.latency.p50} | ${inbound.latency.p99} |
| **ratio** | **${(inbound.requests.average / healthz.requests.average).toFixed(2)}×** | | |

Non-2xx answers on the inbound route: ${inbound.non2xx} (the first request stores the event; every other one is a duplicate).`;
}

function agiTable(results: Measured[]): string {
  const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const rows: string[] = [];
  for (const { concurrency } of LEVELS) {
    const level = results.filter((r) => r.concurrency === concurrency);
    const bare = level.find((r) => r.kind === 'bare')!;
    rows.push(`\n### c = ${concurrency} (${bare.load.sessions} sessions)\n`);
    rows.push('| server | sessions/s | ×bare | p50 ms | p99 ms | ×bare p99 | CPU ms/session | peak RSS MiB | FAILURE/errors | stored |');
    rows.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of level) {
      const rate = r.load.sessions / r.load.seconds;
      const bareRate = bare.load.sessions / bare.load.seconds;
      const p99 = percentile(r.load.latencies, 99);
      const name = r.kind === 'faxbridge' ? '**faxbridge**' : r.kind;
      rows.push(
        `| ${name} | ${fmt(rate, 0)} | ${fmt(rate / bareRate, 2)} | ${fmt(percentile(r.load.latencies, 50))} | ${fmt(p99)} | ${fmt(p99 / percentile(bare.load.latencies, 99), 2)} | ${fmt(r.cpuMsPerSession, 2)} | ${fmt(r.peakMiB, 0)} | ${r.load.failed} | ${r.stored ?? '-'} |`,
      );
    }
  }
  return rows.join('\n');
}

function verdicts(results: Measured[]): string {
  const get = (kind: ServerKind, c: number) => results.find((r) => r.kind === kind && r.concurrency === c)!;
  const rate = (m: Measured) => m.load.sessions / m.load.seconds;
  const fb50 = get('faxbridge', 50);
  const fb500 = get('faxbridge', 500);
  const check = (ok: boolean) => (ok ? 'met' : '**missed**');
  const lines = [
    `- c=50 throughput ≥ 0.6× bare: ${(rate(fb50) / rate(get('bare', 50))).toFixed(2)}× (${check(rate(fb50) >= 0.6 * rate(get('bare', 50)))}); vs ding-dong: ${(rate(fb50) / rate(get('ding-dong', 50))).toFixed(2)}×`,
    `- c=50 p99 ≤ 50 ms: ${percentile(fb50.load.latencies, 99).toFixed(1)} ms (${check(percentile(fb50.load.latencies, 99) <= 50)})`,
    `- c=50 CPU ≤ 1.0 ms/session, work after the ack included: ${fb50.cpuMsPerSession.toFixed(2)} ms (${check(fb50.cpuMsPerSession <= 1)})`,
    `- c=500 no FAILURE (--max-sessions default ${DEFAULT_MAX_SESSIONS}): ${fb500.load.failed} (${check(fb500.load.failed === 0)})`,
    `- c=500 p99 ≤ 500 ms: ${percentile(fb500.load.latencies, 99).toFixed(1)} ms (${check(percentile(fb500.load.latencies, 99) <= 500)})`,
    `- c=500 peak RSS ≤ 120 MiB: ${fb500.peakMiB.toFixed(0)} MiB (${check(fb500.peakMiB <= 120)})`,
    `- every acked session durable: ${results.filter((r) => r.kind === 'faxbridge').map((r) => `c=${r.concurrency}: ${r.stored}/${r.load.acked} stored`).join(', ')} (${check(results.filter((r) => r.kind === 'faxbridge').every((r) => r.stored === r.load.acked))})`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const results: Measured[] = [];
  let prefix = 1795900000;
  for (const { concurrency, sessions } of LEVELS) {
    for (const kind of KINDS) {
      const m = await measure(kind, concurrency, sessions, prefix++);
      console.error(`${kind} c=${concurrency}: ${(m.load.sessions / m.load.seconds).toFixed(0)}/s p99 ${percentile(m.load.latencies, 99).toFixed(1)} ms cpu ${m.cpuMsPerSession.toFixed(2)} ms peak ${m.peakMiB.toFixed(0)} MiB failed ${m.load.failed} stored ${m.stored}`);
      results.push(m);
    }
  }
  const machine = `Run ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), data and spool on ${scratchDir()}.`;
  await replaceSection('agi', `${machine}\n${agiTable(results)}\n\n#### Targets (issue 7)\n\n${verdicts(results)}`);
  await replaceSection('http', await httpBench());
  console.error(`wrote ${RESULTS}`);
}

await main();
