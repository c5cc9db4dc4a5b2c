import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { exportDocument } from '../inbox/export.js';
import { createInbox, cursorAfter, inboxView, type InboxFilter, type InboxRow } from '../inbox/store.js';
import { withDb } from './database.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { commonOptions } from './options.js';
import { or, printShown, printTable } from './output.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .positional('action', { choices: ['list', 'show', 'export'] as const, demandOption: true })
    .positional('id', { type: 'string', describe: 'Inbox id (show, export)' })
    .option('limit', { type: 'number', default: 50, describe: 'How many faxes to list, newest first (at most 500 a page)' })
    .option('all', { type: 'boolean', describe: 'List every fax (pages through them all)' })
    .option('since', { type: 'string', describe: 'Only faxes received at or after this time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T08:00)' })
    .option('cursor', { type: 'string', describe: 'Continue a listing where the previous page ended (printed with it)' })
    .option('to', { type: 'string', describe: 'Only faxes to this number (list)' })
    .option('status', { choices: ['received', 'failed'] as const, describe: 'Only faxes with this status (list)' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line (the count and the next cursor go to stderr)' })
    .option('pdf', { type: 'string', describe: 'Write the document as PDF to this file (export)' })
    .option('tiff', { type: 'string', describe: 'Write the original TIFF to this file (export)' })
    .example('$0 inbox list --since 2026-12-01', "Today's faxes")
    .example('$0 inbox export 71adbee0a051aafbf59b201ccacb37e9 --pdf fax.pdf', 'Save a fax as PDF');

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const inboxCommand: CommandModule<object, Args> = {
  command: 'inbox <action> [id]',
  describe: 'List received faxes, show one, or export its document',
  builder,
  handler: async (argv) => {
    const dir = loadConfig(argv).dataDir;
    if (argv.action === 'list') return list(dir, argv);
    if (!argv.id) throw new ConfigError(`inbox ${argv.action} needs an inbox id (see "faxbridge inbox list")`);
    const row = withDb(dir, 'read', (db) => createInbox(db).get(argv.id!));
    if (!row) {
      console.error(`faxbridge: no fax with id ${argv.id} in ${dir}`);
      process.exitCode = EXIT_FAILED;
      return;
    }
    if (argv.action === 'show') return void console.log(JSON.stringify(inboxView(row), null, 2));
    if (!argv.pdf && !argv.tiff) throw new ConfigError('inbox export needs --pdf FILE or --tiff FILE');
    const written = await exportDocument(row, { pdf: argv.pdf, tiff: argv.tiff });
    for (const w of written) console.log(`wrote ${w}`);
  },
};

function list(dir: string, argv: Args): void {
  if (argv.since !== undefined && Number.isNaN(Date.parse(argv.since))) throw new ConfigError(`--since must be a time such as 2026-12-01 or 2026-12-01T08:00, got "${argv.since}"`);
  if (!Number.isInteger(argv.limit) || argv.limit < 1) throw new ConfigError(`--limit must be a whole number of 1 or more, got ${argv.limit}`);
  const filter: InboxFilter = { withDeleted: true, to: argv.to, status: argv.status, since: argv.since === undefined ? undefined : new Date(argv.since).toISOString() };
  const json = argv.json ?? false;
  withDb(dir, 'read', (db) => {
    const inbox = createInbox(db);
    const remaining = inbox.count({ ...filter, after: argv.cursor });
    const rows: InboxRow[] = [];
    let after = argv.cursor;
    const want = argv.all ? Infinity : argv.limit;
    while (rows.length < want) {
      const page = inbox.list({ ...filter, after, limit: Math.min(500, want - rows.length) });
      rows.push(...page);
      if (page.length === 0 || !argv.all) break;
      after = cursorAfter(page.at(-1)!);
    }
    if (json) for (const r of rows) console.log(JSON.stringify({ ...inboxView(r), document_path: r.document_path }));
    else if (rows.length === 0) console.log(`(no faxes${argv.to || argv.status || argv.since ? ' match' : ''} in ${dir})`);
    else printTable(['ID', 'RECEIVED', 'STATUS', 'PAGES', 'FROM', 'NAME', 'STATION', 'TO', 'DOCUMENT'], rows.map(tableRow));
    const last = rows.at(-1);
    printShown(rows.length, remaining, json, last ? cursorAfter(last) : undefined);
  });
}

function tableRow(r: InboxRow): string[] {
  const meta = JSON.parse(r.meta) as Record<string, unknown>;
  const failed = r.status === 'failed' ? `failed${meta['faxerror'] ? `: ${String(meta['faxerror'])}` : ''}` : r.status;
  return [
    r.id,
    new Date(r.received_at).toLocaleString('sv-SE').slice(0, 16),
    failed,
    or(r.pages),
    or(r.from_number),
    or((meta['from_name'] ?? meta['caller_name']) as string | undefined),
    or(meta['remote_station_id'] as string | undefined),
    or(r.to_number),
    r.document_type ? (r.purged_at ? `${r.document_type} (purged)` : r.document_type) : 'none',
  ];
}
