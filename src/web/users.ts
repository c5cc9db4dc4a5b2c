/**
 * Web inbox users: a name, a scrypt password hash (never the password), and the DIDs the user
 * may see (number patterns; none means every fax). Made by the sysadmin with `faxbridge user`.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { isNumberPattern } from '../domain/number-pattern.js';
import type { Db } from '../store/db.js';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

// OWASP's scrypt floor (N=2^17, r=8, p=1): ~0.1 s per login here, 128 MiB per hash at most.
const PARAMS = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 };
const KEY_BYTES = 32;

export interface User {
  name: string;
  /** Number patterns the user may see; null: every fax. */
  dids: string[] | null;
  created_at: string;
  password_changed_at: string;
}

export class UserError extends Error {
  override name = 'UserError';
}

export function checkUserName(name: string): void {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new UserError(`user name "${name}" must be 1-64 letters, digits or . _ @ -`);
}

export function checkPassword(password: string): void {
  if (password.length < 10) throw new UserError('the password must be at least 10 characters');
  if (password.length > 1024) throw new UserError('the password is too long');
}

export function parseDids(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  const list = text.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of list) if (!isNumberPattern(p)) throw new UserError(`--dids: "${p}" must be digits (15559870000), digits then * (1555987*), or *`);
  return list.length === 0 || list.includes('*') ? null : list;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_BYTES, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

async function verifyHash(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: PARAMS.maxmem });
  return timingSafeEqual(actual, expected);
}

// Verified against when the user does not exist, so an unknown name costs the same time.
let dummyHash: Promise<string> | undefined;

export interface UserStore {
  add(name: string, password: string, dids: string[] | null, now: Date): Promise<void>;
  setPassword(name: string, password: string, now: Date): Promise<boolean>;
  remove(name: string): boolean;
  get(name: string): User | undefined;
  list(): User[];
  /** The user, when the password is right; undefined for a wrong name or password alike. */
  verify(name: string, password: string): Promise<User | undefined>;
}

interface UserRow {
  name: string;
  password_hash: string;
  dids: string | null;
  created_at: string;
  password_changed_at: string;
}

function toUser(r: UserRow): User {
  return { name: r.name, dids: r.dids === null ? null : (JSON.parse(r.dids) as string[]), created_at: r.created_at, password_changed_at: r.password_changed_at };
}

export function createUserStore(db: Db): UserStore {
  const byName = db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?');
  return {
    async add(name, password, dids, now) {
      checkUserName(name);
      checkPassword(password);
      if (byName.get(name)) throw new UserError(`user ${name} exists already (faxbridge user passwd ${name} changes the password)`);
      const hash = await hashPassword(password);
      db.prepare('INSERT INTO users (name, password_hash, dids, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?)').run(name, hash, dids === null ? null : JSON.stringify(dids), now.toISOString(), now.toISOString());
    },
    async setPassword(name, password, now) {
      checkPassword(password);
      if (!byName.get(name)) return false;
      const hash = await hashPassword(password);
      // A new password ends every session of the user.
      db.transaction(() => {
        db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?').run(hash, now.toISOString(), name);
        db.prepare('DELETE FROM sessions WHERE user_name = ?').run(name);
      })();
      return true;
    },
    remove(name) {
      return db.transaction(() => {
        db.prepare('DELETE FROM sessions WHERE user_name = ?').run(name);
        db.prepare('DELETE FROM fax_reads WHERE user_name = ?').run(name);
        return db.prepare('DELETE FROM users WHERE name = ?').run(name).changes === 1;
      })();
    },
    get: (name) => {
      const r = byName.get(name);
      return r ? toUser(r) : undefined;
    },
    list: () => (db.prepare('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser),
    async verify(name, password) {
      const row = byName.get(name);
      const ok = await verifyHash(password, row?.password_hash ?? (await (dummyHash ??= hashPassword('not a real password'))));
      return row && ok ? toUser(row) : undefined;
    },
  };
}
