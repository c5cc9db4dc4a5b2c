#!/usr/bin/env node
/**
 * faxbridge command line: the commands, assembled. Each command is a module of its own.
 * Exit codes: 0 ok, 1 the operation failed (no ack, nothing to retry), 2 bad usage or
 * configuration (the message names the problem).
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../config/config.js';
import { closest, kebab } from '../config/sources.js';
import { checkCommand } from './check.js';
import { EXIT_FAILED, EXIT_USAGE } from './exit-codes.js';
import { inboxCommand } from './inbox.js';
import { jobsCommand } from './jobs.js';
import { mailCommand } from './mail.js';
import { outboxCommand } from './outbox.js';
import { serveCommand } from './serve.js';
import { simulateCommand } from './simulate.js';
import { userCommand } from './user.js';

const COMMANDS = [serveCommand, checkCommand, simulateCommand, inboxCommand, outboxCommand, jobsCommand, mailCommand, userCommand] as CommandModule[];

export function buildCli(args: string[]) {
  return COMMANDS.reduce((y, c) => y.command(c), yargs(args))
    .scriptName('faxbridge')
    .usage('$0 <command> [options]\n\nReceives faxes from Asterisk over FastAGI and delivers them, signed and durably.')
    .epilog(
      'Every setting can also be given as a FAXBRIDGE_* variable (--spool-dir is FAXBRIDGE_SPOOL_DIR) or in the --config file;\n' +
        'every command reads the whole environment and file and uses what it needs. Flags win, then variables, then the file.',
    )
    .demandCommand(1, 'Name a command: serve, check, simulate, inbox, outbox, jobs, mail or user (see --help)')
    .strictCommands()
    .strictOptions()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`faxbridge: ${tidyUsageMessage(msg, knownFlags())}`);
      console.error('Run "faxbridge <command> --help" for usage.');
      process.exit(EXIT_USAGE);
    });
}

/** Every flag any command declares, for "did you mean". */
function knownFlags(): string[] {
  const names = new Set<string>();
  for (const c of COMMANDS) {
    const y = yargs([]);
    (c.builder as (y: Argv) => Argv)(y);
    for (const k of Object.keys((y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key)) names.add(k);
  }
  return [...names].filter((k) => k === kebab(k) && k.length > 1);
}

/** yargs lists an unknown `--foo-bar` twice (also as fooBar): name each flag once, as typed, with what was meant. */
function tidyUsageMessage(msg: string, known: readonly string[]): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg;
  const names = m[1]!.split(', ');
  const kept = names.filter((n) => n === kebab(n) || !names.includes(kebab(n)));
  const flag = (n: string) => (n.length > 1 ? `--${n}` : `-${n}`);
  const shown = kept.map((n) => {
    const meant = closest(n, known);
    return meant ? `${flag(n)} (did you mean --${meant}?)` : flag(n);
  });
  return `Unknown option${kept.length > 1 ? 's' : ''}: ${shown.join(', ')}`;
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
    if ((e.code === 'EACCES' || e.code === 'EPERM') && e.path) {
      console.error(`faxbridge: permission denied on ${e.path}: run as the user that owns it (the service runs as faxbridge: sudo -u faxbridge ...), or fix its ownership`);
      process.exit(EXIT_USAGE);
    }
    const message = e.message ?? String(err);
    console.error(`faxbridge: ${e.code && !message.startsWith(e.code) ? `${e.code}: ` : ''}${message}`);
    process.exit(EXIT_FAILED);
  }
}

await main(hideBin(process.argv));
