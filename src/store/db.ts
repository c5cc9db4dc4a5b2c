/**
 * The one SQLite database in the data dir, in WAL mode. By default synchronous=FULL: a
 * transaction that has returned is on disk. The daemon opens it with `walSync: 'caller'`
 * (synchronous=NORMAL) and makes each group commit durable itself with `walSyncer`, an fsync of
 * the WAL in the thread pool, so no commit blocks the event loop on the disk.
 */
import Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     event_key TEXT NOT NULL,
     target TEXT NOT NULL,
     webhook_id TEXT NOT NULL,
     body TEXT NOT NULL,
     tiff_path TEXT,
     tiff_sha256 TEXT,
     state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     last_status INTEGER,
     last_error TEXT,
     last_response TEXT,
     response_id TEXT,
     delivered_at INTEGER,
     UNIQUE (event_key, target)
   );
   CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
   CREATE TABLE inbox (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL,
     provider_id TEXT NOT NULL,
     webhook_id TEXT,
     from_number TEXT,
     to_number TEXT,
     status TEXT NOT NULL,
     provider_status TEXT,
     pages INTEGER,
     received_at TEXT NOT NULL,
     document_path TEXT,
     document_sha256 TEXT,
     document_bytes INTEGER,
     document_type TEXT,
     meta TEXT NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL,
     UNIQUE (source, provider_id)
   );
   CREATE UNIQUE INDEX inbox_webhook_id ON inbox (webhook_id) WHERE webhook_id IS NOT NULL;
   CREATE INDEX inbox_received ON inbox (received_at);`,
  `CREATE TABLE outbound_status (
     id INTEGER PRIMARY KEY,
     provider TEXT NOT NULL,
     job_id TEXT NOT NULL,
     provider_fax_id TEXT NOT NULL,
     event TEXT NOT NULL,
     status TEXT NOT NULL,
     provider_status TEXT,
     pages INTEGER,
     error_type TEXT,
     error_code TEXT,
     error_message TEXT,
     received_at TEXT NOT NULL
   );
   CREATE UNIQUE INDEX outbound_status_once ON outbound_status (provider, provider_fax_id, event, IFNULL(provider_status, ''));
   CREATE INDEX outbound_status_job ON outbound_status (job_id, id);
   ALTER TABLE inbox ADD COLUMN purged_at TEXT;`,
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     dids TEXT,
     created_at TEXT NOT NULL,
     password_changed_at TEXT NOT NULL
   );
   CREATE TABLE sessions (
     id_hash TEXT PRIMARY KEY,
     user_name TEXT NOT NULL,
     csrf TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL
   );
   CREATE INDEX sessions_user ON sessions (user_name);
   CREATE TABLE fax_reads (
     user_name TEXT NOT NULL,
     fax_id TEXT NOT NULL,
     read_at TEXT NOT NULL,
     PRIMARY KEY (user_name, fax_id)
   );
   ALTER TABLE inbox ADD COLUMN deleted_at TEXT;`,
];

function databasePath(dataDir: string): string {
  return path.join(dataDir, 'faxbridge.db');
}

export function openDatabase(dataDir: string, options: { readonly?: boolean; walSync?: 'commit' | 'caller' } = {}): Db {
  const db = new Database(databasePath(dataDir), { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (options.readonly) return db;
  db.pragma('journal_mode = WAL');
  db.pragma(options.walSync === 'caller' ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * Makes every transaction committed so far durable: with synchronous=NORMAL a commit has
 * appended its frames to the WAL but not fsynced it; fsyncing the WAL file (the same inode
 * while this connection is open) is what synchronous=FULL would have done, off the event loop.
 */
export function walSyncer(dataDir: string): { sync(): Promise<void>; close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  return {
    async sync() {
      handle ??= open(`${databasePath(dataDir)}-wal`, 'r');
      await (await handle).sync();
    },
    async close() {
      if (handle) await (await handle).close();
      handle = undefined;
    },
  };
}
