#!/usr/bin/env node
/**
 * faxbridge command line. Exit codes: 0 ok, 1 the operation failed (no ack, nothing to retry),
 * 2 bad usage or configuration (the message names the problem).
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runCheck } from './check.js';
import { ConfigError, DEFAULTS, parseListen, resolveConfig, type RawOptions } from './config.js';
import { startDaemon } from './daemon.js';
import { exportDocument } from './inbox/export.js';
import { createInbox, inboxView, type InboxRow } from './inbox/store.js';
import { createLogger, maskNumber } from './log/logger.js';
import { createOutbox, type OutboxRow, type OutboxState } from './outbox/queue.js';
import { simulateFax } from './simulate.js';
import { openDatabase, type Db } from './store/db.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const SECRET_ENV_KEY = /^(webhook[-_]?secret|api[-_]?key)/i;

function commonOptions<T>(y: Argv<T>) {
  return y
    .option('data-dir', {
      type: 'string',
      describe: `Where the database, documents and generated secrets live [default: $STATE_DIRECTORY or ${DEFAULTS.dataDir}]`,
    })
    .option('spool-dir', { type: 'string', describe: 'Asterisk fax spool; TIFFs are accepted only from inside it', default: DEFAULTS.spoolDir })
    .option('log-level', { type: 'string', describe: 'fatal, error, warn, info, debug, trace or silent', default: DEFAULTS.logLevel });
}

function serveOptions<T>(y: Argv<T>) {
  return commonOptions(y)
    .option('agi-listen', { type: 'string', describe: 'FastAGI address HOST:PORT (port 0: any free port)', default: DEFAULTS.agiListen })
    .option('http-listen', { type: 'string', describe: 'HTTP receiver address HOST:PORT', default: DEFAULTS.httpListen })
    .option('target', { type: 'string', describe: 'Deliver to this URL (a Faxbot API or another faxbridge) [default: this daemon\'s own receiver]' })
    .option('max-sessions', { type: 'number', describe: 'Concurrent AGI sessions; more are answered FAILURE', default: DEFAULTS.maxSessions })
    .option('retry-schedule', { type: 'string', describe: 'Delays before each delivery attempt, then dead-letter', default: DEFAULTS.retrySchedule })
    .option('target-kind', { choices: ['faxbridge', 'faxbot'], describe: 'faxbot: deliver a path to a PDF copy (Faxbot cannot read TIFF)', default: 'faxbridge' })
    .option('public-url', { type: 'string', describe: 'The public base URL given to Phaxio (real Phaxio signs it); never taken from Host' })
    .option('file-url-hosts', { type: 'string', describe: 'Hosts a seed-shaped file_url may be fetched from (https only)', default: DEFAULTS.fileUrlHosts })
    .option('forward-url', { type: 'string', array: true, describe: 'Forward every inbox event, signed, to this URL (repeatable)' })
    .option('sinch-allow-unauthenticated', { type: 'boolean', describe: 'Accept /sinch-inbound with no credential configured (not recommended)', default: false })
    .option('max-body-mb', { type: 'number', describe: 'Body limit of the provider routes, in MiB (413 above it)', default: DEFAULTS.maxBodyMb })
    .option('secret-grace', { type: 'string', describe: 'How long a secret replaced in its file stays accepted', default: DEFAULTS.secretGrace })
    .option('retention-days', { type: 'number', describe: 'Remove documents older than this (records stay, marked purged); 0 keeps them', default: DEFAULTS.retentionDays });
}

async function serve(argv: RawOptions): Promise<void> {
  const config = resolveConfig(argv, process.env);
  const log = createLogger(config.logLevel);
  const daemon = await startDaemon(config, log);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(1);
    log.info({ signal }, 'shutdown.signal');
    daemon.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err: String(err) }, 'shutdown.failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function withDb<T>(dataDir: string | undefined, fn: (db: Db, dir: string) => T): T {
  const dir = resolveConfig({ dataDir }, process.env).dataDir;
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
    .command(
      'serve',
      'Run the daemon: FastAGI server, HTTP receiver and delivery worker',
      (y) =>
        serveOptions(y)
          .epilog(
            'Secrets (environment, each also as NAME_FILE=path):\n' +
              '  ASTERISK_INBOUND_SECRET            X-Internal-Secret sent to the target and required by the receiver\n' +
              '  ASTERISK_INBOUND_SECRET_PREVIOUS   still accepted during a rotation\n' +
              '  FAXBRIDGE_WEBHOOK_SECRET           whsec_... Standard Webhooks signing key (then signatures are required)\n' +
              '  FAXBRIDGE_WEBHOOK_SECRET_PREVIOUS  still accepted, and also signed with, during a rotation\n' +
              '  FAXBRIDGE_API_KEY                  inbox API key (Authorization: Bearer or X-API-Key)\n' +
              '  PHAXIO_API_SECRET                  seed-scheme Phaxio signature key (X-Phaxio-Signature, 64 hex)\n' +
              '  PHAXIO_CALLBACK_TOKEN              real Phaxio callback/webhook token (40 hex); needs --public-url\n' +
              '  SINCH_INBOUND_BASIC_USER/_PASS     Basic auth on /sinch-inbound\n' +
              '  SINCH_INBOUND_HMAC_SECRET          seed X-Sinch-Signature key (then required)\n' +
              'Each also has a NAME_PREVIOUS form accepted during a rotation.\n' +
              'A secret that is not set is generated once into <data-dir>/secrets/.',
          ),
      (argv) => serve(argv as RawOptions),
    )
    .command(
      'check',
      'Validate the configuration, print it with secrets masked, and probe the target; exits 1 with one line per problem',
      (y) => serveOptions(y),
      async (argv) => {
        const report = await runCheck(resolveConfig(argv as RawOptions, process.env));
        const width = Math.max(...report.settings.map(([k]) => k.length));
        console.log('configuration:');
        for (const [k, v] of report.settings) console.log(`  ${k.padEnd(width)}  ${v}`);
        for (const line of report.ok) console.log(`ok: ${line}`);
        for (const line of report.problems) console.error(`PROBLEM: ${line}`);
        console.log(report.problems.length ? `${report.problems.length} problem(s)` : 'no problems found');
        if (report.problems.length) process.exitCode = EXIT_FAILED;
      },
    )
    .command(
      'simulate',
      'Play Asterisk against a running daemon (smoke test); exits 0 when FAXBRIDGE_ACK=1 came back',
      (y) =>
        commonOptions(y)
          .option('agi', { type: 'string', describe: 'The daemon\'s FastAGI address', default: DEFAULTS.agiListen })
          .option('tiff', { type: 'string', describe: 'TIFF to "receive" (copied into the spool as <uniqueid>.tiff)' })
          .option('status', { type: 'string', describe: 'FAXSTATUS', default: 'SUCCESS', choices: ['SUCCESS', 'FAILED'] })
          .option('pages', { type: 'number', describe: 'FAXPAGES [default: the TIFF\'s page count]' })
          .option('from', { type: 'string', describe: 'CALLERID(num)', default: '15551230000' })
          .option('caller-name', { type: 'string', describe: 'CALLERID(name)', default: 'faxbridge simulate' })
          .option('to', { type: 'string', describe: 'FAXBRIDGE_TO (the DID)', default: '15559870000' })
          .option('uniqueid', { type: 'string', describe: 'UNIQUEID [default: generated]' }),
      async (argv) => {
        const result = await simulateFax({
          agi: parseListen('--agi', argv.agi),
          spoolDir: argv['spool-dir'],
          tiff: argv.tiff,
          status: argv.status,
          pages: argv.pages,
          from: argv.from,
          callerName: argv['caller-name'],
          to: argv.to,
          uniqueid: argv.uniqueid,
        });
        console.log(`uniqueid ${result.uniqueid}: AGISTATUS=${result.agistatus} FAXBRIDGE_ACK=${result.acked ? '1' : '(unset)'}`);
        console.log(result.acked ? 'acknowledged: the fax is stored durably' : 'NOT acknowledged: Asterisk would write the .pending marker');
        if (!result.acked) process.exitCode = EXIT_FAILED;
      },
    )
    .command('outbox <action> [ids..]', 'List deliveries, or put dead ones back in the queue', (y) =>
      commonOptions(y)
        .positional('action', { choices: ['list', 'retry'] as const, demandOption: true })
        .positional('ids', { type: 'number', array: true, describe: 'Outbox row ids (retry)' })
        .option('state', { choices: ['pending', 'delivered', 'dead'] as const, describe: 'Only rows in this state (list)' })
        .option('dead', { type: 'boolean', describe: 'Retry every dead row' })
        .option('limit', { type: 'number', default: 100 })
        .option('json', { type: 'boolean', describe: 'One JSON object per line' }),
      (argv) =>
        withDb(argv['data-dir'], (db) => {
          const outbox = createOutbox(db);
          if (argv.action === 'list') return printOutbox(outbox.list(argv.state as OutboxState | undefined, argv.limit), argv.json ?? false);
          if (!argv.dead && !argv.ids?.length) throw new ConfigError('outbox retry needs row ids or --dead');
          const n = outbox.retry(argv.dead ? 'all-dead' : (argv.ids ?? []), Date.now());
          console.log(`${n} row(s) queued for delivery now`);
          if (n === 0) process.exitCode = EXIT_FAILED;
        }),
    )
    .command('inbox <action> [id]', 'List received faxes, show one, or export its document', (y) =>
      commonOptions(y)
        .positional('action', { choices: ['list', 'show', 'export'] as const, demandOption: true })
        .positional('id', { type: 'string', describe: 'Inbox id (show, export)' })
        .option('limit', { type: 'number', default: 50 })
        .option('to', { type: 'string', describe: 'Only faxes to this number (list)' })
        .option('status', { choices: ['received', 'failed'] as const, describe: 'Only faxes with this status (list)' })
        .option('json', { type: 'boolean', describe: 'One JSON object per line' })
        .option('pdf', { type: 'string', describe: 'Write the document as PDF to this file (export)' })
        .option('tiff', { type: 'string', describe: 'Write the original TIFF to this file (export)' })
        .example('$0 inbox export 71adbee0a051aafbf59b201ccacb37e9 --pdf fax.pdf', 'Save a fax as PDF'),
      async (argv) => {
        const dir = resolveConfig({ dataDir: argv['data-dir'] }, process.env).dataDir;
        if (argv.action === 'list') {
          return withDb(dir, (db) =>
            printInbox(createInbox(db, dir).list({ limit: argv.limit, to: argv.to, status: argv.status }), argv.json ?? false),
          );
        }
        if (!argv.id) throw new ConfigError(`inbox ${argv.action} needs an inbox id (see "faxbridge inbox list")`);
        const row = withDb(dir, (db) => createInbox(db, dir).get(argv.id!));
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
    )
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
