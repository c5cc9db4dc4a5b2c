import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { createOutbox, type OutboxRow, type OutboxState } from '../outbox/queue.js';
import { withDb } from './database.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { commonOptions } from './options.js';
import { or, printTable } from './output.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .positional('action', { choices: ['list', 'retry'] as const, demandOption: true })
    .positional('ids', { type: 'number', array: true, describe: 'Outbox row ids (retry)' })
    .option('state', { choices: ['pending', 'delivered', 'dead'] as const, describe: 'Only rows in this state (list)' })
    .option('dead', { type: 'boolean', describe: 'Retry every dead row' })
    .option('limit', { type: 'number', default: 100, describe: 'How many rows to list, newest first' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line' });

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const outboxCommand: CommandModule<object, Args> = {
  command: 'outbox <action> [ids..]',
  describe: 'List deliveries (to --target and --forward-url), or put dead ones back in the queue',
  builder,
  handler: (argv) => {
    const dir = loadConfig(argv).dataDir;
    if (argv.action === 'list') {
      return withDb(dir, 'read', (db) => printOutbox(createOutbox(db).list(argv.state as OutboxState | undefined, argv.limit), argv.json ?? false, dir));
    }
    if (!argv.dead && !argv.ids?.length) throw new ConfigError('outbox retry needs row ids or --dead');
    const n = withDb(dir, 'write', (db) => createOutbox(db).retry(argv.dead ? 'all-dead' : (argv.ids ?? []), Date.now()));
    console.log(`${n} row(s) queued for delivery now`);
    if (n === 0) process.exitCode = EXIT_FAILED;
  },
};

function printOutbox(rows: OutboxRow[], json: boolean, dir: string): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify({ ...r, body: undefined }));
    return;
  }
  if (rows.length === 0) return void console.log(`(no deliveries in ${dir})`);
  printTable(
    ['ID', 'STATE', 'ATTEMPTS', 'LAST', 'NEXT ATTEMPT', 'EVENT', 'TARGET'],
    rows.map((r) => [r.id, r.state, r.attempts, or(r.last_status ?? r.last_error), r.state === 'pending' ? new Date(r.next_attempt_at).toISOString() : '-', r.event_key, r.target]),
  );
}
