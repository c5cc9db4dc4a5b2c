/** Starts each server under test as its own process, so its CPU and memory are its own. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '..', 'src', 'cli', 'main.js');

export type ServerKind = 'bare' | 'bare+fsync' | 'ding-dong' | 'faxbridge';

export interface RunningServer {
  kind: ServerKind;
  pid: number;
  port: number;
  /** faxbridge only: its HTTP port. */
  httpPort: number | undefined;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(kind: ServerKind, dir: string, spool: string): Promise<RunningServer> {
  await mkdir(dir, { recursive: true });
  const commands = JSON.stringify(COMMANDS);
  const args =
    kind === 'faxbridge'
      ? [CLI, 'serve', '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'), '--spool-dir', spool]
      : kind === 'ding-dong'
        ? [path.join(here, 'servers', 'ding-dong.js'), commands]
        : [path.join(here, 'servers', 'bare.js'), kind === 'bare' ? 'none' : 'fsync', commands, path.join(dir, 'journal')];
  // The product's defaults, logging at info included: its cost is part of the hand-off.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env['PATH'] } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let httpPort: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffered.slice(0, nl)) as { port?: number; msg?: string; agi?: string; http?: string };
        buffered = buffered.slice(nl + 1);
        const portOf = (address: string | undefined) => Number(String(address).split(':').pop());
        const found = line.port ?? (line.msg === 'listening' ? portOf(line.agi) : undefined);
        if (line.msg === 'listening') httpPort = portOf(line.http);
        if (found) {
          child.stdout!.off('data', onData);
          child.stdout!.resume(); // the rest of the log is drained, not kept
          resolve(found);
        }
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(() => reject(new Error(`${kind} exited before listening`)));
  });
  return {
    kind,
    pid: child.pid!,
    port,
    httpPort,
    child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
