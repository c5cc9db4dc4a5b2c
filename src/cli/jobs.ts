import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { createStatusStore, type StatusRow } from '../inbox/statuses.js';
import { withDb } from './database.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { commonOptions } from './options.js';
import { or, printTable } from './output.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .positional('action', { choices: ['list', 'show'] as const, demandOption: true })
    .positional('job', { type: 'string', describe: 'Job id (show)' })
    .option('status', { choices: ['queued', 'in_progress', 'success', 'failed', 'unknown'] as const, describe: 'Only jobs whose current status is this (list)' })
    .option('limit', { type: 'number', default: 50, describe: 'How many jobs to list, latest event first' })
    .option('json', { type: 'boolean', describe: 'One JSON object per line' })
    .example('$0 jobs list --status failed', 'Faxes sent out through Phaxio or Sinch that failed');

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const jobsCommand: CommandModule<object, Args> = {
  command: 'jobs <action> [job]',
  describe: 'Outbound fax statuses reported by Phaxio or Sinch (/phaxio-callback, /sinch-inbound): list jobs, or show one with its history',
  builder,
  handler: (argv) => {
    const dir = loadConfig(argv).dataDir;
    withDb(dir, 'read', (db) => {
      const statuses = createStatusStore(db);
      const json = argv.json ?? false;
      if (argv.action === 'list') {
        const jobs = statuses.jobs(argv.status ? 10_000 : argv.limit).filter((j) => !argv.status || j.status === argv.status).slice(0, argv.limit);
        if (json) for (const j of jobs) console.log(JSON.stringify(j));
        else if (jobs.length === 0) console.log(`(no outbound fax statuses${argv.status ? ` with status ${argv.status}` : ''} in ${dir})`);
        else printTable(['JOB', 'STATUS', 'PROVIDER', 'FAX ID', 'PAGES', 'ERROR', 'LAST EVENT'], jobs.map(row));
        return;
      }
      if (!argv.job) throw new ConfigError('jobs show needs a job id (see "faxbridge jobs list")');
      const current = statuses.current(argv.job);
      if (!current) {
        console.error(`faxbridge: no status for job ${argv.job} in ${dir}`);
        process.exitCode = EXIT_FAILED;
        return;
      }
      const history = statuses.history(argv.job);
      if (json) return void console.log(JSON.stringify({ job_id: argv.job, status: current.status, current, history }, null, 2));
      console.log(`job ${argv.job}: ${current.status} (${current.provider}, fax ${current.provider_fax_id})`);
      printTable(['RECEIVED', 'EVENT', 'STATUS', 'PROVIDER STATUS', 'PAGES', 'ERROR'], history.map((h) => [h.received_at, h.event, h.status, or(h.provider_status), or(h.pages), or(errorOf(h))]));
    });
  },
};

function errorOf(s: StatusRow): string | null {
  return [s.error_type, s.error_code, s.error_message].filter(Boolean).join(': ') || null;
}

function row(s: StatusRow): Array<string | number> {
  return [s.job_id, s.status, s.provider, s.provider_fax_id, or(s.pages), or(errorOf(s)), s.received_at];
}
