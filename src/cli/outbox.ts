import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { createOutbox, type OutboxRow, type OutboxState } from '../outbox/queue.js';
import { withDb } from './database.js';
import { loadConfig } from './load-config.js';
import { EXIT_FAILED } from './exit-codes.js';
import { commonOptions } from './options.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .positional('action', { choices: ['list', 'retry'] as const, demandOption: true })
    .positional('ids', { type: 'number', array: true, describe: 'Outbox row ids (retry)' })
    .option('state', { choices: ['pending', 'delivered', 'dead'] as const, describe: 'Only rows in this state (list)' })
    .option('dead', { type: 'boolean', describe: 'Retry every dead row' })
    .option('limit', { type: 'number', default: 100 })
    .option('json', { type: 'boolean', describe: 'One JSON object per line' });

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const outboxCommand: CommandModule<object, Args> = {
  command: 'outbox <action> [ids..]',
  describe: 'List deliveries, or put dead ones back in the queue',
  builder,
  handler: (argv) =>
    withDb(loadConfig(argv).dataDir, (db) => {
      const outbox = createOutbox(db);
      if (argv.action === 'list') return printOutbox(outbox.list(argv.state as OutboxState | undefined, argv.limit), argv.json ?? false);
      if (!argv.dead && !argv.ids?.length) throw new ConfigError('outbox retry needs row ids or --dead');
      const n = outbox.retry(argv.dead ? 'all-dead' : (argv.ids ?? []), Date.now());
      console.log(`${n} row(s) queued for delivery now`);
      if (n === 0) process.exitCode = EXIT_FAILED;
    }),
};

function printOutbox(rows: OutboxRow[], json: boolean): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify({ ...r, body: undefined }));
    return;
  }
  if (rows.length === 0) return void console.log('(no outbox rows)');
  console.log(['ID', 'STATE', 'ATTEMPTS', 'LAST', 'NEXT ATTEMPT', 'EVENT', 'TARGET'].join('\t'));
  for (const r of rows) {
    const next = r.state === 'pending' ? new Date(r.next_attempt_at).toISOString() : '-';
    console.log([r.id, r.state, r.attempts, r.last_status ?? r.last_error ?? '-', next, r.event_key, r.target].join('\t'));
  }
}
