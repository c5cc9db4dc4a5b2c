/**
 * One FastAGI connection: reads the header, then runs commands one at a time over a FIFO.
 * Only `send()` writes to the socket; replies are matched to the single command in flight.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  AgiClosedError,
  AgiDeadChannelError,
  AgiError,
  AgiInvalidCommandError,
  AgiProtocolError,
  AgiTimeoutError,
  AgiUsageError,
} from './errors.js';
import {
  buildHeader,
  createLineReader,
  createResponseParser,
  formatCommand,
  MAX_HEADER_BYTES,
  MAX_HEADER_LINES,
  type AgiHeader,
  type AgiReply,
} from './protocol.js';

export interface AgiTimeouts {
  /** From accept to the header's empty line. */
  headerMs: number;
  /** From writing a command to its final reply. */
  commandMs: number;
  /** From accept to forced close, whatever the route is doing. */
  sessionMs: number;
  /** After our FIN, how long Asterisk gets to close before the socket is destroyed. */
  closeGraceMs: number;
}

export const DEFAULT_TIMEOUTS: AgiTimeouts = { headerMs: 2000, commandMs: 2000, sessionMs: 5000, closeGraceMs: 250 };

export interface AgiSession {
  readonly header: AgiHeader;
  readonly env: AgiHeader['env'];
  readonly script: string;
  readonly query: string;
  readonly args: readonly string[];
  readonly log: Logger;
  /** True once Asterisk sent HANGUP. */
  readonly hungUp: boolean;
  /** True once the socket is closed or closing; commands then reject with AgiClosedError. */
  readonly closed: boolean;
  /** Settles when the session ends for any reason: close, peer EOF, reset, deadline. */
  readonly ended: Promise<void>;
  onHangup(listener: () => void): void;
  /** Sends one command (words are quoted as needed) and resolves with its 200 reply. */
  command(words: readonly string[]): Promise<AgiReply>;
  /** `undefined` when the variable is unset (`200 result=0`), `''` when set but empty. */
  getVariable(name: string): Promise<string | undefined>;
  getFullVariable(expression: string): Promise<string>;
  setVariable(name: string, value: string): Promise<void>;
  verbose(message: string, level?: number): Promise<void>;
  /** Writes `FAILURE` (Asterisk sets AGISTATUS=FAILURE) and closes. */
  fail(): Promise<void>;
  /** Half-closes, then destroys after the grace period. Idempotent. */
  close(): Promise<void>;
  /** Destroys the socket at once and rejects whatever is pending with `reason`. */
  abort(reason: AgiError): void;
}

interface Pending {
  line: string;
  resolve(reply: AgiReply): void;
  reject(err: Error): void;
}

/** Reads the header from a fresh socket and returns the session, or rejects (and destroys the socket). */
export function openAgiSession(
  socket: Socket,
  options: { timeouts: AgiTimeouts; logger: Logger; maxLineBytes?: number; onTimeout?: () => void },
): Promise<AgiSession> {
  const { timeouts, logger } = options;
  const reader = createLineReader(options.maxLineBytes);
  const responses = createResponseParser();
  const headerLines: string[] = [];
  let headerBytes = 0;
  const queue: Pending[] = [];
  const hangupListeners: Array<() => void> = [];
  let inFlight: Pending | undefined;
  let commandTimer: NodeJS.Timeout | undefined;
  let header: AgiHeader | undefined;
  let hungUp = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  let log = logger;
  let settleHeader: { resolve(s: AgiSession): void; reject(e: Error): void } | undefined;
  let markEnded!: () => void;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));

  const sessionTimer = setTimeout(() => abort(new AgiTimeoutError(`session exceeded ${timeouts.sessionMs} ms`)), timeouts.sessionMs);
  const headerTimer = setTimeout(() => abort(new AgiTimeoutError(`no AGI header within ${timeouts.headerMs} ms`)), timeouts.headerMs);
  sessionTimer.unref();
  headerTimer.unref();

  /** `reason` is made only if someone is waiting: every session ends, most with nothing pending. */
  function finish(reason: () => Error): void {
    if (closed) return;
    closed = true;
    markEnded();
    clearTimeout(sessionTimer);
    clearTimeout(headerTimer);
    clearTimeout(commandTimer);
    const waiting = inFlight ? [inFlight, ...queue] : [...queue];
    inFlight = undefined;
    queue.length = 0;
    if (waiting.length === 0 && !settleHeader) return;
    const err = reason();
    for (const p of waiting) p.reject(err);
    settleHeader?.reject(err);
    settleHeader = undefined;
  }

  function abort(reason: AgiError): void {
    if (!closed) {
      log.debug({ err: reason.message }, 'agi.abort');
      if (reason instanceof AgiTimeoutError) options.onTimeout?.();
    }
    finish(() => reason);
    socket.destroy();
  }

  function pump(): void {
    if (inFlight || closed) return;
    const next = queue.shift();
    if (!next) return;
    inFlight = next;
    commandTimer = setTimeout(() => abort(new AgiTimeoutError(`no reply to "${next.line}" within ${timeouts.commandMs} ms`)), timeouts.commandMs);
    commandTimer.unref();
    socket.write(`${next.line}\n`);
  }

  function settle(fn: (p: Pending) => void): void {
    const current = inFlight;
    if (!current) throw new AgiProtocolError('reply with no command in flight');
    clearTimeout(commandTimer);
    inFlight = undefined;
    fn(current);
    pump();
  }

  function onLine(line: string): void {
    if (!header) {
      if (line !== '') {
        headerLines.push(line);
        headerBytes += line.length + 1;
        if (headerLines.length > MAX_HEADER_LINES || headerBytes > MAX_HEADER_BYTES) {
          throw new AgiProtocolError(`AGI header over ${MAX_HEADER_LINES} lines or ${MAX_HEADER_BYTES} bytes`);
        }
        return;
      }
      header = buildHeader(headerLines);
      clearTimeout(headerTimer);
      log = logger.child({ uniqueid: header.args[0] ?? header.env['agi_uniqueid'] });
      settleHeader?.resolve(session);
      settleHeader = undefined;
      return;
    }
    const ev = responses.push(line);
    switch (ev.kind) {
      case 'hangup':
        if (!hungUp) {
          hungUp = true;
          for (const l of hangupListeners) l();
        }
        return;
      case 'trying':
      case 'incomplete':
        return;
      case 'reply':
        settle((p) => p.resolve(ev.reply));
        return;
      case 'invalid-command':
        settle((p) => p.reject(new AgiInvalidCommandError(`510 for "${p.line}": ${ev.text}`)));
        return;
      case 'dead-channel':
        settle((p) => p.reject(new AgiDeadChannelError(`511 for "${p.line}": ${ev.text}`)));
        return;
      case 'usage':
        settle((p) => p.reject(new AgiUsageError(`520 for "${p.line}": ${ev.text}`, ev.usage)));
        return;
    }
  }

  socket.on('data', (chunk: Buffer) => {
    if (closing) return; // Asterisk's final HANGUP after our FIN, or the header of a session we refused
    try {
      for (const line of reader.push(chunk)) onLine(line);
    } catch (err) {
      abort(err instanceof AgiError ? err : new AgiProtocolError(String(err)));
    }
  });
  socket.on('error', (err) => finish(() => new AgiClosedError(`socket error: ${err.message}`)));
  socket.on('end', () => finish(() => new AgiClosedError('peer closed the connection')));
  socket.on('close', () => finish(() => new AgiClosedError('connection closed')));

  function send(words: readonly string[]): Promise<AgiReply> {
    if (closed || closing) return Promise.reject(new AgiClosedError('session is closed'));
    let line: string;
    try {
      line = formatCommand(words);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<AgiReply>((resolve, reject) => {
      queue.push({ line, resolve, reject });
      pump();
    });
  }

  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      finish(() => new AgiClosedError('session closed'));
      if (socket.destroyed) return resolve();
      const grace = setTimeout(() => socket.destroy(), timeouts.closeGraceMs);
      grace.unref();
      socket.once('close', () => {
        clearTimeout(grace);
        resolve();
      });
      socket.end();
    });
    return closing;
  }

  const session: AgiSession = {
    get header() {
      return header!;
    },
    get env() {
      return header!.env;
    },
    get script() {
      return header!.script;
    },
    get query() {
      return header!.query;
    },
    get args() {
      return header!.args;
    },
    get log() {
      return log;
    },
    get hungUp() {
      return hungUp;
    },
    get closed() {
      return closed;
    },
    ended,
    onHangup(listener) {
      hangupListeners.push(listener);
    },
    command: send,
    async getVariable(name) {
      const reply = await send(['GET', 'VARIABLE', name]);
      return reply.result === '1' ? (reply.data ?? '') : undefined;
    },
    async getFullVariable(expression) {
      const reply = await send(['GET', 'FULL', 'VARIABLE', expression]);
      return reply.data ?? '';
    },
    async setVariable(name, value) {
      await send(['SET', 'VARIABLE', name, value]);
    },
    async verbose(message, level = 1) {
      await send(['VERBOSE', message, String(level)]);
    },
    async fail() {
      if (!closed && !closing && socket.writable) socket.write('FAILURE\n');
      await close();
    },
    close,
    abort,
  };

  return new Promise<AgiSession>((resolve, reject) => {
    if (closed) return reject(new AgiClosedError('connection closed before the header'));
    settleHeader = { resolve, reject };
  });
}
