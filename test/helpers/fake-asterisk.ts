/**
 * Replays a recorded Asterisk side of a FastAGI session byte for byte: the header as it was read,
 * then, for each exchange, waits for exactly the bytes the recorder's server sent and answers with
 * the recorded reply chunks. Any difference in what the daemon sends is reported.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { withSpool, type RecordedSession } from './fixtures.js';

export interface ReplayResult {
  /** What the daemon wrote, split per expected command. */
  received: string[];
  mismatch: string | null;
  /** The daemon half-closed (FIN) rather than reset. */
  serverEnded: boolean;
  trailing: string;
}

export interface ReplayOptions {
  /** Cut the header bytes at these offsets instead of the recorded read boundaries. */
  headerCuts?: number[];
  /** Pause between reply chunks (the real 520 block came ~40 ms apart). */
  chunkDelayMs?: number;
  timeoutMs?: number;
}

export function replaySession(port: number, session: RecordedSession, spool: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const header = session.header_chunks.map((c) => withSpool(c, spool));
  const headerChunks = options.headerCuts ? cutAt(Buffer.from(header.join('')), options.headerCuts) : header.map((c) => Buffer.from(c));
  const exchanges = (session.exchanges ?? []).map((e) => ({
    send: Buffer.from(withSpool(e.send, spool)),
    recv: e.recv_chunks.map((c) => Buffer.from(withSpool(c, spool))),
  }));
  const finalBytes = session.close.final_bytes_after_server_fin ?? '';

  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: string[] = [];
    let buffer = Buffer.alloc(0);
    let index = 0;
    let mismatch: string | null = null;
    let serverEnded = false;
    let busy = false;
    const timer = setTimeout(() => {
      mismatch ??= `timeout at exchange ${index}`;
      socket.destroy();
    }, options.timeoutMs ?? 8000);

    async function pump(): Promise<void> {
      if (busy) return;
      busy = true;
      try {
        while (index < exchanges.length && buffer.length >= exchanges[index]!.send.length) {
          const want = exchanges[index]!;
          const got = buffer.subarray(0, want.send.length);
          buffer = buffer.subarray(want.send.length);
          received.push(got.toString('utf8'));
          if (!got.equals(want.send)) {
            mismatch = `exchange ${index}: expected ${JSON.stringify(want.send.toString())}, got ${JSON.stringify(got.toString())}`;
            socket.destroy();
            return;
          }
          for (const [i, chunk] of want.recv.entries()) {
            if (i > 0 && options.chunkDelayMs) await sleep(options.chunkDelayMs);
            if (!socket.destroyed) socket.write(chunk);
          }
          index++;
        }
      } finally {
        busy = false;
      }
    }

    socket.on('connect', async () => {
      for (const chunk of headerChunks) {
        socket.write(chunk);
        if (headerChunks.length > 1) await sleep(1);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      void pump();
    });
    socket.on('end', () => {
      serverEnded = true;
      if (finalBytes) socket.write(finalBytes);
      socket.end();
    });
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!mismatch && index < exchanges.length) mismatch = `closed after ${index} of ${exchanges.length} exchanges`;
      resolve({ received, mismatch, serverEnded, trailing: buffer.toString('utf8') });
    });
  });
}

function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let last = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= last || c >= bytes.length) continue;
    out.push(bytes.subarray(last, c));
    last = c;
  }
  out.push(bytes.subarray(last));
  return out;
}
