/**
 * FastAGI wire format, pure: bytes in, values out. No sockets here (reference/agi.md §2-4).
 */
import { AgiProtocolError } from './errors.js';

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** A real header is about 25 lines and 1 KiB: these bound what one connection can make us hold. */
export const MAX_HEADER_LINES = 128;
export const MAX_HEADER_BYTES = 16 * 1024;
/** Asterisk reads a command into an 8192-byte buffer: 8191 bytes plus the newline. */
export const MAX_COMMAND_BYTES = 8191;
export const MAX_COMMAND_WORDS = 100;

// ---------------------------------------------------------------------------------------------
// Lines

export interface LineReader {
  /** Feed raw bytes; returns every line completed by them, without the line ending. */
  push(chunk: Buffer): string[];
  /** Bytes held for a line not yet ended. */
  readonly pending: number;
}

/**
 * Splits on `\n` whatever the TCP segmentation, drops one `\r` before it, and decodes each whole
 * line as UTF-8 with replacement (a caller name can be cut mid-character). A line longer than
 * `maxLineBytes` is a protocol error, so memory stays bounded.
 */
export function createLineReader(maxLineBytes = DEFAULT_MAX_LINE_BYTES): LineReader {
  let parts: Buffer[] = [];
  let held = 0;
  return {
    get pending() {
      return held;
    },
    push(chunk) {
      const lines: string[] = [];
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1) break;
        const piece = chunk.subarray(start, nl);
        if (held + piece.length > maxLineBytes) throw tooLong(maxLineBytes);
        let line = held === 0 ? piece : Buffer.concat([...parts, piece]);
        if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
        lines.push(line.toString('utf8'));
        parts = [];
        held = 0;
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        if (held + rest.length > maxLineBytes) throw tooLong(maxLineBytes);
        parts.push(Buffer.from(rest));
        held += rest.length;
      }
      return lines;
    },
  };
}

function tooLong(max: number): AgiProtocolError {
  return new AgiProtocolError(`line longer than ${max} bytes`);
}

// ---------------------------------------------------------------------------------------------
// Header

export interface AgiHeader {
  /** Every `agi_*` line, verbatim after the first `": "`. */
  readonly env: Readonly<Record<string, string>>;
  /** Path part of `agi_network_script`, e.g. `fax/received`. */
  readonly script: string;
  /** Query part of `agi_network_script`, undecoded (Asterisk does no URL encoding). */
  readonly query: string;
  /** `agi_arg_1..N` in order. */
  readonly args: readonly string[];
}

/** Splits at the first `:` and drops exactly one following space; the rest is kept verbatim. */
export function parseHeaderLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new AgiProtocolError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
  const name = line.slice(0, colon);
  const rest = line.slice(colon + 1);
  return [name, rest.startsWith(' ') ? rest.slice(1) : rest];
}

export function buildHeader(lines: readonly string[]): AgiHeader {
  const env: Record<string, string> = Object.create(null);
  for (const line of lines) {
    const [name, value] = parseHeaderLine(line);
    env[name] = value;
  }
  const networkScript = env['agi_network_script'] ?? '';
  const q = networkScript.indexOf('?');
  const args: string[] = [];
  for (let i = 1; env[`agi_arg_${i}`] !== undefined; i++) args.push(env[`agi_arg_${i}`]!);
  return Object.freeze({
    env: Object.freeze(env),
    script: (q === -1 ? networkScript : networkScript.slice(0, q)).replace(/^\/+/, ''),
    query: q === -1 ? '' : networkScript.slice(q + 1),
    args: Object.freeze(args),
  });
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface AgiReply {
  readonly code: 200;
  readonly result: string;
  /** Text in parentheses, from the first `(` after `result=` to the last `)`; absent if none. */
  readonly data?: string;
  /** Trailing `key=value` pairs (`endpos=1234`). */
  readonly extras: Readonly<Record<string, string>>;
}

/** What one line of the command phase means. */
export type ResponseEvent =
  | { kind: 'reply'; reply: AgiReply }
  | { kind: 'hangup' }
  | { kind: 'trying' }
  | { kind: 'invalid-command'; text: string }
  | { kind: 'dead-channel'; text: string }
  | { kind: 'usage'; text: string; usage: string }
  | { kind: 'incomplete' };

export interface ResponseParser {
  /** One complete line in; what it means out. Throws AgiProtocolError for a line of no known form. */
  push(line: string): ResponseEvent;
}

/** A state machine only because a 520 block spans lines: everything up to `520 ` belongs to it. */
export function createResponseParser(): ResponseParser {
  let usage: string[] | null = null;
  return {
    push(line) {
      if (usage !== null) {
        if (line.startsWith('520 ')) {
          const text = usage.join('\n');
          usage = null;
          return { kind: 'usage', text: line.slice(4), usage: text };
        }
        usage.push(line);
        // Asterisk's longest usage text is a few dozen lines: a block that never ends is junk.
        if (usage.length > 1000) throw new AgiProtocolError('520 usage block longer than 1000 lines');
        return { kind: 'incomplete' };
      }
      if (line === 'HANGUP') return { kind: 'hangup' };
      if (line.startsWith('520-')) {
        usage = [];
        return { kind: 'incomplete' };
      }
      if (line.startsWith('520 ')) return { kind: 'usage', text: line.slice(4), usage: '' };
      if (line.startsWith('510')) return { kind: 'invalid-command', text: line.slice(4) };
      if (line.startsWith('511')) return { kind: 'dead-channel', text: line.slice(4) };
      if (line.startsWith('100 ')) return { kind: 'trying' };
      if (line.startsWith('200 ')) return { kind: 'reply', reply: parseReply(line) };
      throw new AgiProtocolError(`unexpected reply line: ${JSON.stringify(line.slice(0, 80))}`);
    },
  };
}

const REPLY = /^200 result=(-?\w*)(.*)$/;

export function parseReply(line: string): AgiReply {
  const m = REPLY.exec(line);
  if (!m) throw new AgiProtocolError(`malformed 200 reply: ${JSON.stringify(line.slice(0, 80))}`);
  const result = m[1]!;
  let rest = m[2]!;
  let data: string | undefined;
  if (rest.startsWith(' (')) {
    const close = rest.lastIndexOf(')');
    if (close === -1) throw new AgiProtocolError(`unterminated data in reply: ${JSON.stringify(line.slice(0, 80))}`);
    data = rest.slice(2, close);
    rest = rest.slice(close + 1);
  }
  const extras: Record<string, string> = {};
  for (const word of rest.split(' ')) {
    const eq = word.indexOf('=');
    if (eq > 0) extras[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return data === undefined ? { code: 200, result, extras } : { code: 200, result, data, extras };
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Always quotes: `\` → `\\`, `"` → `\"`, wrapped in `"`. LF, CR and NUL cannot be sent. */
export function quote(value: string): string {
  if (/[\n\r\0]/.test(value)) throw new RangeError('AGI argument contains LF, CR or NUL');
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A word Asterisk's tokenizer passes through unchanged needs no quotes; anything else gets `quote()`. */
export function quoteIfNeeded(value: string): string {
  return /^[^\s"\\]+$/.test(value) ? value : quote(value);
}

/** Formats one command line (without the newline), enforcing Asterisk's buffer and word limits. */
export function formatCommand(words: readonly string[]): string {
  if (words.length === 0 || words.length > MAX_COMMAND_WORDS) {
    throw new RangeError(`AGI command must have 1 to ${MAX_COMMAND_WORDS} words`);
  }
  const line = words.map(quoteIfNeeded).join(' ');
  if (Buffer.byteLength(line, 'utf8') > MAX_COMMAND_BYTES) {
    throw new RangeError(`AGI command longer than ${MAX_COMMAND_BYTES} bytes`);
  }
  return line;
}

/**
 * Port of `parse_args` in res_agi.c: space/tab split words, `"` toggles quoting, `\` makes the
 * next character literal, `""` after whitespace is an empty word, an open quote runs to the end.
 * Used by tests to prove `quote()` round-trips; the daemon itself never parses commands.
 */
export function parseArgs(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  let escaped = false;
  for (const ch of line) {
    if (escaped) {
      cur += ch;
      inWord = true;
      escaped = false;
      continue;
    }
    if (ch === '\\') {
      escaped = true;
      continue;
    }
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
      continue;
    }
    if (!quoted && (ch === ' ' || ch === '\t')) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    cur += ch;
    inWord = true;
  }
  if (inWord) words.push(cur);
  return words;
}
