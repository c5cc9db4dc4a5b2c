/**
 * Benchmarks, each against a baseline measured in the same run on the same machine; the ratios
 * are what to compare across runs. Writes bench/results.md. Loopback only, bounded in time.
 *
 *   npm run bench
 */
import autocannon from 'autocannon';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/config/config.js';
import { startDaemon } from '../src/app/daemon.js';
import { createLogger } from '../src/log/logger.js';
import { replaySession } from '../test/helpers/fake-asterisk.js';
import { ASTERISK, loadSession, withSpool } from '../test/helpers/fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SESSIONS = Number(process.env['BENCH_SESSIONS'] ?? 300);
const HTTP_SECONDS = Number(process.env['BENCH_HTTP_SECONDS'] ?? 5);

/** The least a FastAGI server can do for this dialplan: the same 14 commands, no checks, no disk. */
function baselineAgiServer(): Promise<{ port: number; close(): void }> {
  const session = loadSession('success-3p');
  const commands = session.exchanges!.map((e) => e.send);
  const server = net.createServer((socket) => {
    let buffered = '';
    let header = true;
    let i = 0;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      if (header) {
        const end = buffered.indexOf('\n\n');
        if (end === -1) return;
        buffered = buffered.slice(end + 2);
        header = false;
        socket.write(commands[i++]!);
        return;
      }
      const nl = buffered.indexOf('\n');
      if (nl === -1) return;
      buffered = buffered.slice(nl + 1);
      if (i < commands.length) socket.write(commands[i++]!);
      else socket.end();
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() })));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function agiLatency(port: number, spool: string, unique: (i: number) => string): Promise<{ p50: number; p99: number; perSecond: number }> {
  const template = loadSession('success-3p');
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < SESSIONS; i++) {
    const uid = unique(i);
    const session = JSON.parse(JSON.stringify(template).split(template.call.uniqueid).join(uid));
    await copyFile(path.join(ASTERISK, 'tiffs', 'success-3p.tiff'), withSpool(session.faxfile, spool));
    const t0 = performance.now();
    const r = await replaySession(port, session, spool);
    times.push(performance.now() - t0);
    if (r.mismatch) throw new Error(r.mismatch);
  }
  const total = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), perSecond: SESSIONS / total };
}

async function cannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
}

async function main(): Promise<void> {
  const root = path.join(os.tmpdir(), `faxbridge-bench-${process.pid}`);
  const spool = path.join(root, 'spool');
  await mkdir(spool, { recursive: true });
  const config = resolveConfig(
    { agiListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', dataDir: path.join(root, 'data'), spoolDir: spool, logLevel: 'silent' },
    { ASTERISK_INBOUND_SECRET: 'bench-secret' },
  );
  const daemon = await startDaemon(config, createLogger('silent'));
  const baseline = await baselineAgiServer();

  const base = await agiLatency(baseline.port, spool, (i) => `1795900000.${i}`);
  const fb = await agiLatency(daemon.agiAddress.port, spool, (i) => `1795910000.${i}`);

  const url = `http://127.0.0.1:${daemon.httpAddress.port}`;
  const duplicate = JSON.stringify({ tiff_path: null, to_number: '1', from_number: '2', faxstatus: 'FAILED', faxpages: 0, uniqueid: '1795910000.0' });
  const healthz = await cannon({ url: `${url}/healthz`, connections: 10, duration: HTTP_SECONDS });
  const inbound = await cannon({
    url: `${url}/_internal/asterisk/inbound`,
    method: 'POST',
    connections: 10,
    duration: HTTP_SECONDS,
    headers: { 'content-type': 'application/json', 'x-internal-secret': 'bench-secret' },
    body: duplicate,
  });
  const non2xx = inbound.non2xx;

  await daemon.stop();
  baseline.close();

  const fmt = (n: number) => n.toFixed(2);
  const report = `# faxbridge benchmarks

Run: ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}).
Each number is compared with a baseline measured in the same run; compare **ratios** across runs, not absolute times.

## AGI session, \`fax/received\` (replay of the recorded \`success-3p\` session, ${SESSIONS} sequential sessions)

Baseline: a bare FastAGI server that sends the same 14 commands and acks, with no TIFF check and no disk write.
faxbridge additionally reads and hashes the 98 KB TIFF, walks its IFDs, and commits the event to SQLite
(WAL, synchronous=FULL, i.e. an fsync) before the ack; meanwhile its outbox delivers the previous events to
its own receiver, which copies each TIFF into the inbox (two more fsyncs), so the disk is shared.

| server | p50 ms | p99 ms | sessions/s |
|---|---|---|---|
| baseline | ${fmt(base.p50)} | ${fmt(base.p99)} | ${fmt(base.perSecond)} |
| faxbridge | ${fmt(fb.p50)} | ${fmt(fb.p99)} | ${fmt(fb.perSecond)} |
| **ratio** (faxbridge / baseline) | **${fmt(fb.p50 / base.p50)}** | **${fmt(fb.p99 / base.p99)}** | **${fmt(fb.perSecond / base.perSecond)}** |

The design target is a typical session under 50 ms with a 5 s hard deadline (reference/agi.md §9).

## HTTP receiver (autocannon, 10 connections, ${HTTP_SECONDS} s each)

Baseline: \`GET /healthz\` on the same server. Measured: \`POST /_internal/asterisk/inbound\`, a repeat of a stored
event (secret check, JSON parse, idempotent lookup, same answer).

| route | req/s (mean) | p50 ms | p99 ms |
|---|---|---|---|
| GET /healthz (baseline) | ${fmt(healthz.requests.average)} | ${healthz.latency.p50} | ${healthz.latency.p99} |
| POST /_internal/asterisk/inbound (duplicate) | ${fmt(inbound.requests.average)} | ${inbound.latency.p50} | ${inbound.latency.p99} |
| **ratio** | **${fmt(inbound.requests.average / healthz.requests.average)}** | | |

Non-2xx answers on the inbound route: ${non2xx} (the first request stores the event; every other one is a duplicate).
`;
  await writeFile(path.join(here, '..', '..', 'bench', 'results.md'), report);
  console.log(report);
}

await main();
