/**
 * Group commit: work from concurrent callers shares one SQLite transaction, hence one fsync.
 * A batch is flushed `maxDelayMs` after its first item, or at once when `maxBatch` items wait.
 * Each caller's promise settles only after the whole batch is durable; if the commit fails,
 * every caller in the batch gets the error, and nothing of the batch was stored.
 *
 * Directories named by `syncDir` are fsynced before the transaction, so a record never becomes
 * durable before the directory entries of the documents it names (one fsync per directory per
 * batch, not per document).
 */
import { syncDir as fsyncDir } from '../documents/durable-write.js';
import type { Db } from './db.js';

export interface GroupCommit {
  /**
   * Runs `work` inside the next batch's transaction (in a savepoint of its own, so one caller's
   * error rolls back only its own work) and resolves with its result once the batch is durable.
   */
  commit<T>(work: () => T, options?: { syncDir?: string }): Promise<T>;
  /** Flushes what is waiting, then refuses new work. */
  close(): Promise<void>;
}

export interface GroupCommitOptions {
  /** Makes the committed transaction durable (the WAL fsync), when the connection does not. */
  sync?: () => Promise<void>;
  maxDelayMs?: number;
  maxBatch?: number;
  /** Told the size and duration of every flushed batch (metrics). */
  onFlush?: (size: number, seconds: number) => void;
}

interface Item {
  work: () => unknown;
  syncDir: string | undefined;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export const DEFAULT_COMMIT_DELAY_MS = 2;
export const DEFAULT_COMMIT_BATCH = 64;

export class StoreClosedError extends Error {
  override name = 'StoreClosedError';
}

export function createGroupCommit(db: Db, options: GroupCommitOptions = {}): GroupCommit {
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_COMMIT_DELAY_MS;
  const maxBatch = options.maxBatch ?? DEFAULT_COMMIT_BATCH;
  const waiting: Item[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;

  const runAll = db.transaction((batch: Item[]) =>
    batch.map((item) => {
      try {
        return { ok: true as const, value: db.transaction(item.work)() };
      } catch (err) {
        return { ok: false as const, err };
      }
    }),
  );

  function schedule(): void {
    if (flushing) return; // the running flush picks the queue up when it ends
    if (waiting.length >= maxBatch) {
      clearTimeout(timer);
      timer = undefined;
      void flush();
    } else {
      timer ??= setTimeout(() => {
        timer = undefined;
        void flush();
      }, maxDelayMs);
    }
  }

  async function flush(): Promise<void> {
    const batch = waiting.splice(0, maxBatch);
    if (batch.length === 0) return;
    const started = performance.now();
    flushing = (async () => {
      try {
        const dirs = new Set(batch.flatMap((i) => (i.syncDir ? [i.syncDir] : [])));
        await Promise.all([...dirs].map(fsyncDir));
        const results = runAll(batch);
        await options.sync?.();
        results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.value) : batch[i]!.reject(r.err)));
      } catch (err) {
        for (const item of batch) item.reject(err);
      }
    })();
    await flushing;
    flushing = undefined;
    options.onFlush?.(batch.length, (performance.now() - started) / 1000);
    // What arrived meanwhile has waited a whole flush already: commit it now.
    if (waiting.length > 0) void flush();
  }

  return {
    commit<T>(work: () => T, o: { syncDir?: string } = {}): Promise<T> {
      if (closed) return Promise.reject(new StoreClosedError('the store is closing'));
      return new Promise<T>((resolve, reject) => {
        waiting.push({ work, syncDir: o.syncDir, resolve: resolve as (v: unknown) => void, reject });
        schedule();
      });
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      while (flushing || waiting.length > 0) {
        if (flushing) await flushing;
        else await flush();
      }
    },
  };
}
