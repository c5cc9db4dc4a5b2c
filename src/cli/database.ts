/** Opening the daemon's database from a command, with a message that says which one failed. */
import { ConfigError } from '../config/config.js';
import { openDatabase, type Db } from '../store/db.js';

export function withDb<T>(dir: string, fn: (db: Db, dir: string) => T): T {
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
