import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConfig, type RawOptions } from '../../src/config/config.js';
import { startDaemon, type Daemon, type DaemonOverrides } from '../../src/app/daemon.js';
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose lines are kept in memory, parsed, for assertions. */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue;
        raw.push(text);
        lines.push(JSON.parse(text) as LogLine);
      }
      done();
    },
  });
  return { logger: createLogger(level, sink), lines, raw };
}

export async function tempDir(prefix = 'fxb-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestDaemon {
  daemon: Daemon;
  dataDir: string;
  spoolDir: string;
  lines: LogLine[];
  raw: string[];
  agiPort: number;
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startTestDaemon(
  options: { raw?: RawOptions; env?: NodeJS.ProcessEnv; overrides?: DaemonOverrides; dataDir?: string; spoolDir?: string; createSpool?: boolean } = {},
): Promise<TestDaemon> {
  const root = options.dataDir ? undefined : await tempDir();
  const dataDir = options.dataDir ?? path.join(root!, 'data');
  const spoolDir = options.spoolDir ?? path.join(root!, 'spool');
  if (options.createSpool !== false) await mkdir(spoolDir, { recursive: true });
  const config = resolveConfig(
    { agiListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', dataDir, spoolDir, logLevel: 'debug', ...options.raw },
    options.env ?? {},
  );
  const { logger, lines, raw } = memoryLogger();
  const daemon = await startDaemon(config, logger, options.overrides);
  return {
    daemon,
    dataDir,
    spoolDir,
    lines,
    raw,
    agiPort: daemon.agiAddress.port,
    httpUrl: `http://127.0.0.1:${daemon.httpAddress.port}`,
    async stop() {
      await daemon.stop();
      if (root) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
