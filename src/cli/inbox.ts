import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { exportDocument } from '../inbox/export.js';
import { createInbox, inboxView, type InboxRow } from '../inbox/store.js';
import { maskNumber } from '../log/logger.js';
import { withDb } from './database.js';
import { loadConfig } from './load-config.js';
import { EXIT_FAILED } from './exit-codes.js';
import { commonOptions } from './options.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .positional('action', { choices: ['list', 'show', 'export'] as const, demandOption: true })
    .positional('id', { type: 'string', describe: 'Inbox id (show, export)' })
    .option('limit', { type: 'number', default: 50 })
    .option('to', { type: 'string', describe: 'Only faxes to this number (list)' })
    .option('status', { choices: ['received', 'failed'] as const, describe: 'Only faxes with this status (list)' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line' })
    .option('pdf', { type: 'string', describe: 'Write the document as PDF to this file (export)' })
    .option('tiff', { type: 'string', describe: 'Write the original TIFF to this file (export)' })
    .example('$0 inbox export 71adbee0a051aafbf59b201ccacb37e9 --pdf fax.pdf', 'Save a fax as PDF');

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const inboxCommand: CommandModule<object, Args> = {
  command: 'inbox <action> [id]',
  describe: 'List received faxes, show one, or export its document',
  builder,
  handler: async (argv) => {
    const dir = loadConfig(argv).dataDir;
    if (argv.action === 'list') {
      return withDb(dir, (db) => printInbox(createInbox(db).list({ limit: argv.limit, to: argv.to, status: argv.status }), argv.json ?? false));
    }
    if (!argv.id) throw new ConfigError(`inbox ${argv.action} needs an inbox id (see "faxbridge inbox list")`);
    const row = withDb(dir, (db) => createInbox(db).get(argv.id!));
    if (!row) {
      console.error(`faxbridge: no fax with id ${argv.id}`);
      process.exitCode = EXIT_FAILED;
      return;
    }
    if (argv.action === 'show') return void console.log(JSON.stringify(inboxView(row), null, 2));
    if (!argv.pdf && !argv.tiff) throw new ConfigError('inbox export needs --pdf FILE or --tiff FILE');
    const written = await exportDocument(row, { pdf: argv.pdf, tiff: argv.tiff });
    for (const w of written) console.log(`wrote ${w}`);
  },
};

function printInbox(rows: InboxRow[], json: boolean): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify({ ...r, meta: JSON.parse(r.meta) }));
    return;
  }
  if (rows.length === 0) return void console.log('(inbox is empty)');
  console.log(['ID', 'RECEIVED', 'SOURCE', 'STATUS', 'PAGES', 'FROM', 'TO', 'DOCUMENT'].join('\t'));
  for (const r of rows) {
    console.log(
      [r.id, r.received_at, r.source, r.status, r.pages ?? '-', maskNumber(r.from_number) ?? '-', maskNumber(r.to_number) ?? '-', r.document_type ?? 'none'].join('\t'),
    );
  }
}
