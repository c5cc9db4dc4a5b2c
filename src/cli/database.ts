/** Opening the daemon's database from a command, with a message that says which one failed. */
import { ConfigError, resolveConfig } from '../config/config.js';
import { openDatabase, type Db } from '../store/db.js';

export function dataDirOf(dataDir: string | undefined): string {
  return resolveConfig({ dataDir }, process.env).dataDir;
}

export function withDb<T>(dataDir: string | undefined, fn: (db: Db, dir: string) => T): T {
  const dir = dataDirOf(dataDir);
  let db: Db;
  try {
    db = openDatabase(dir);
  } catch (err) {
    throw new ConfigError(`cannot open the database in ${dir}: ${(err as Error).message}`);
  }
  try {
    return fn(db, dir);
  } finally {
    db.close();
  }
}
