/**
 * Opening the daemon's database from a command. Reading commands open it read-only, so a
 * `sudo faxbridge inbox list` never leaves root-owned files the service cannot open; every
 * failure says which folder it was and what to do.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/config.js';
import { openDatabase, type Db } from '../store/db.js';

export function withDb<T>(dir: string, mode: 'read' | 'write', fn: (db: Db) => T): T {
  if (!existsSync(path.join(dir, 'faxbridge.db'))) {
    throw new ConfigError(`no faxbridge database in ${dir}: has the daemon run with this data dir? (--data-dir or FAXBRIDGE_DATA_DIR)`);
  }
  let db: Db;
  try {
    db = openDatabase(dir, { readonly: mode === 'read' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const denied = e.code === 'EACCES' || /unable to open|readonly|permission/i.test(e.message);
    throw new ConfigError(
      denied
        ? `cannot open the database in ${dir} as this user: run the command as the service user (sudo -u faxbridge faxbridge ...) or as root`
        : `cannot open the database in ${dir}: ${e.message}`,
    );
  }
  let result: T;
  try {
    result = fn(db);
  } catch (err) {
    db.close();
    throw err;
  }
  // An async job (hashing a password) keeps the database open until it is done.
  if (result instanceof Promise) return result.finally(() => db.close()) as T;
  db.close();
  return result;
}
