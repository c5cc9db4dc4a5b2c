/**
 * Reads a file only if it really lives in the spool: absolute path, not a symlink, realpath
 * inside the (real) spool dir, a regular file, size-capped. Opened with O_NOFOLLOW and checked
 * on the open descriptor, so a swap between the check and the read cannot point it elsewhere.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, realpath } from 'node:fs/promises';
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

export interface ReadOptions {
  maxBytes?: number;
  /** fsync the file's data before returning (it is about to be kept by a hard link). */
  sync?: boolean;
}

export async function readSpoolFile(spoolDir: string, file: string, o: ReadOptions = {}): Promise<SpoolFile> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  if (!path.isAbsolute(file)) throw new SpoolFileError('relative', `path is not absolute: ${file}`);
  const realSpool = await realpath(spoolDir).catch((err: unknown) => {
    if (isNotFound(err)) throw new SpoolFileError('missing', `spool dir does not exist: ${spoolDir}`);
    throw err;
  });
  if (!isInside(path.resolve(file), [path.resolve(spoolDir), realSpool])) {
    throw new SpoolFileError('outside', `path is outside the spool dir ${spoolDir}: ${file}`);
  }
  // O_NOFOLLOW refuses a symlink as the last component; O_NONBLOCK keeps a FIFO from holding a
  // thread-pool thread (fstat then refuses it).
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isNotFound(err)) throw new SpoolFileError('missing', `no such file: ${file}`);
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new SpoolFileError('symlink', `refusing a symlink: ${file}`);
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new SpoolFileError('not-regular', `not a regular file: ${file}`);
    // Where the opened file really is (a directory on the way may be a symlink out of the spool).
    const real = await openedPath(handle.fd, file, st);
    if (!isInside(real, [realSpool])) {
      throw new SpoolFileError('outside', `path resolves outside the spool dir ${spoolDir}: ${file}`);
    }
    if (st.size > maxBytes) throw new SpoolFileError('too-large', `file is ${st.size} bytes, over the ${maxBytes}-byte limit: ${file}`);
    // One read of the size fstat gave (readFile would fstat again and read in chunks).
    const bytes = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await handle.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (o.sync) await handle.sync();
    return { path: real, bytes: bytes.subarray(0, filled), dev: st.dev, ino: st.ino };
  } finally {
    await handle.close();
  }
}

/** The real path of an open file: /proc/self/fd says it exactly; without /proc, realpath and the same inode. */
async function openedPath(fd: number, file: string, st: { dev: number; ino: number }): Promise<string> {
  const viaProc = await readlink(`/proc/self/fd/${fd}`).catch(() => undefined);
  if (viaProc?.startsWith('/')) return viaProc;
  const real = await realpath(file);
  const again = await lstat(real);
  if (again.dev !== st.dev || again.ino !== st.ino) throw new SpoolFileError('outside', `file changed while it was opened: ${file}`);
  return real;
}

function isInside(file: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep));
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
