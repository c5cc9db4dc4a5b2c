import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';

export interface ChildDaemon {
  child: ChildProcess;
  agiPort: number;
  httpPort: number;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Starts `faxbridge serve` as a real process and resolves once it logged `listening`. */
export function startChildDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildDaemon> {
  const child = spawn(process.execPath, [CLI, 'serve', '--agi-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...args], {
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line['msg'] === 'listening') {
          const port = (v: unknown) => Number(String(v).split(':').pop());
          resolve({ child, agiPort: port(line['agi']), httpPort: port(line['http']), lines, exited });
        }
      }
    });
    void exited.then((code) => reject(new Error(`daemon exited (${code}) before listening: ${stderr}`)));
  });
}
