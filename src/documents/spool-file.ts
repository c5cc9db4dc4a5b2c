/**
 * Reads a file only if it really lives in the spool: absolute path, not a symlink, realpath
 * inside the (real) spool dir, a regular file, size-capped. Opened with O_NOFOLLOW and checked
 * on the open descriptor, so a swap between the check and the read cannot point it elsewhere.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';

export type SpoolRefusal = 'relative' | 'missing' | 'symlink' | 'outside' | 'not-regular' | 'too-large';

export class SpoolFileError extends Error {
  override name = 'SpoolFileError';
  constructor(
    readonly reason: SpoolRefusal,
    message: string,
  ) {
    super(message);
  }
}

export interface SpoolFile {
  /** The real path, inside the spool. */
  path: string;
  bytes: Buffer;
  /** The inode the bytes were read from (a later link is checked against it). */
  dev: number;
  ino: number;
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export async function readSpoolFile(spoolDir: string, file: string, maxBytes = DEFAULT_MAX_DOCUMENT_BYTES): Promise<SpoolFile> {
  if (!path.isAbsolute(file)) throw new SpoolFileError('relative', `path is not absolute: ${file}`);
  const realSpool = await realpath(spoolDir).catch((err: unknown) => {
    if (isNotFound(err)) throw new SpoolFileError('missing', `spool dir does not exist: ${spoolDir}`);
    throw err;
  });
  if (!isInside(path.resolve(file), [path.resolve(spoolDir), realSpool])) {
    throw new SpoolFileError('outside', `path is outside the spool dir ${spoolDir}: ${file}`);
  }
  let stat;
  try {
    stat = await lstat(file);
  } catch (err) {
    if (isNotFound(err)) throw new SpoolFileError('missing', `no such file: ${file}`);
    throw err;
  }
  if (stat.isSymbolicLink()) throw new SpoolFileError('symlink', `refusing a symlink: ${file}`);
  const real = await realpath(file);
  if (!isInside(real, [realSpool])) {
    throw new SpoolFileError('outside', `path resolves outside the spool dir ${spoolDir}: ${file}`);
  }
  // O_NONBLOCK: opening a FIFO must not hold a thread-pool thread; fstat then refuses it.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new SpoolFileError('not-regular', `not a regular file: ${file}`);
    if (st.size > maxBytes) throw new SpoolFileError('too-large', `file is ${st.size} bytes, over the ${maxBytes}-byte limit: ${file}`);
    // One read of the size fstat gave (readFile would fstat again and read in chunks).
    const bytes = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await handle.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { path: real, bytes: bytes.subarray(0, filled), dev: st.dev, ino: st.ino };
  } finally {
    await handle.close();
  }
}

function isInside(file: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep));
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
