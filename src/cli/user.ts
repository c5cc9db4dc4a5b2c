import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { createUserStore, parseDids, UserError } from '../web/users.js';
import { withDb } from './database.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { commonOptions } from './options.js';
import { or, printTable } from './output.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .positional('action', { choices: ['add', 'list', 'passwd', 'remove'] as const, demandOption: true })
    .positional('name', { type: 'string', describe: 'User name (add, passwd, remove)' })
    .option('password-stdin', { type: 'boolean', describe: 'Read the password from standard input (add, passwd); it never goes on the command line' })
    .option('dids', { type: 'string', describe: 'Only faxes to these numbers: comma-separated patterns, 15559870000, 1555987* or * (add) [default: every fax]' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line (list)' })
    .example("printf '%s' 'long passphrase' | $0 user add frontdesk --password-stdin --dids '1555987*'", 'A user who sees the faxes to one block of numbers');

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

async function readPassword(argv: Args): Promise<string> {
  if (!argv['password-stdin']) throw new ConfigError('give the password on standard input with --password-stdin (never on the command line)');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export const userCommand: CommandModule<object, Args> = {
  command: 'user <action> [name]',
  describe: 'Web inbox users: add one (optionally limited to some numbers), list them, change a password, remove one',
  builder,
  handler: async (argv) => {
    const dir = loadConfig(argv).dataDir;
    const needName = () => {
      if (!argv.name) throw new ConfigError(`user ${argv.action} needs a user name`);
      return argv.name;
    };
    try {
      switch (argv.action) {
        case 'list': {
          const users = withDb(dir, 'read', (db) => createUserStore(db).list());
          if (argv.json) for (const u of users) console.log(JSON.stringify(u));
          else if (users.length === 0) console.log(`(no web inbox users in ${dir}; add one with: faxbridge user add NAME --password-stdin)`);
          else printTable(['USER', 'SEES', 'CREATED', 'PASSWORD CHANGED'], users.map((u) => [u.name, u.dids ? u.dids.join(',') : 'every fax', u.created_at, or(u.password_changed_at)]));
          return;
        }
        case 'add': {
          const name = needName();
          const dids = parseDids(argv.dids);
          const password = await readPassword(argv);
          await withDb(dir, 'write', (db) => createUserStore(db).add(name, password, dids, new Date()));
          console.log(`user ${name} added; sees ${dids ? `faxes to ${dids.join(', ')}` : 'every fax'}`);
          return;
        }
        case 'passwd': {
          const name = needName();
          const password = await readPassword(argv);
          const changed = await withDb(dir, 'write', (db) => createUserStore(db).setPassword(name, password, new Date()));
          if (!changed) {
            console.error(`faxbridge: no user ${name}`);
            process.exitCode = EXIT_FAILED;
            return;
          }
          console.log(`password of ${name} changed; their sessions are logged out`);
          return;
        }
        case 'remove': {
          const name = needName();
          const removed = withDb(dir, 'write', (db) => createUserStore(db).remove(name));
          if (!removed) {
            console.error(`faxbridge: no user ${name}`);
            process.exitCode = EXIT_FAILED;
            return;
          }
          console.log(`user ${name} removed`);
        }
      }
    } catch (err) {
      if (err instanceof UserError) throw new ConfigError(err.message);
      throw err;
    }
  },
};
