#!/usr/bin/env node
/**
 * faxbridge command line: the commands, assembled. Each command is a module of its own.
 * Exit codes: 0 ok, 1 the operation failed (no ack, nothing to retry), 2 bad usage or
 * configuration (the message names the problem).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../config/config.js';
import { checkCommand } from './check.js';
import { EXIT_FAILED, EXIT_USAGE } from './exit-codes.js';
import { inboxCommand } from './inbox.js';
import { outboxCommand } from './outbox.js';
import { serveCommand } from './serve.js';
import { simulateCommand } from './simulate.js';

const SECRET_ENV_KEY = /^(webhook[-_]?secret|api[-_]?key)/i;

export function buildCli(args: string[]) {
  return yargs(args)
    .scriptName('faxbridge')
    .usage('$0 <command> [options]\n\nReceives faxes from Asterisk over FastAGI and delivers them, signed and durably.')
    .env('FAXBRIDGE')
    // FAXBRIDGE_WEBHOOK_SECRET* and FAXBRIDGE_API_KEY* are secrets read by config.ts, not options.
    .middleware((argv) => {
      for (const key of Object.keys(argv)) if (SECRET_ENV_KEY.test(key)) delete argv[key];
    }, true)
    .config('config', 'JSON file with any of the options (flags and FAXBRIDGE_* variables override it)')
    .command(serveCommand)
    .command(checkCommand)
    .command(simulateCommand)
    .command(outboxCommand)
    .command(inboxCommand)
    .demandCommand(1, 'Name a command: serve, check, simulate, outbox or inbox (see --help)')
    .strictCommands()
    .strictOptions()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`faxbridge: ${tidyUsageMessage(msg)}`);
      console.error('Run "faxbridge <command> --help" for usage.');
      process.exit(EXIT_USAGE);
    });
}

/** yargs lists an unknown `--foo-bar` twice (also as fooBar); name each flag once, as typed. */
function tidyUsageMessage(msg: string): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg;
  const names = m[1]!.split(', ');
  const kebab = (n: string) => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const kept = names.filter((n) => n === kebab(n) || !names.includes(kebab(n)));
  return `Unknown option${kept.length > 1 ? 's' : ''}: ${kept.map((n) => (n.length > 1 ? `--${n}` : `-${n}`)).join(', ')}`;
}

export async function main(args: string[]): Promise<void> {
  try {
    await buildCli(args).parseAsync();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof ConfigError) {
      console.error(`faxbridge: ${err.message}`);
      process.exit(EXIT_USAGE);
    }
    console.error(`faxbridge: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
    process.exit(EXIT_FAILED);
  }
}

await main(hideBin(process.argv));
