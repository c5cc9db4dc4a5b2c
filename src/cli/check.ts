import type { Argv, CommandModule } from 'yargs';
import { runCheck } from '../app/check.js';
import { DEFAULT_UNIT_FILE } from '../app/unit-file.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { serveOptions } from './options.js';

const builder = (y: Argv) =>
  serveOptions(y).option('unit', {
    type: 'string',
    describe: `The systemd unit the service runs under: its LoadCredential= secrets and StateDirectory= are taken into account [default: ${DEFAULT_UNIT_FILE}, if present]`,
  });

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const checkCommand: CommandModule<object, Args> = {
  command: 'check',
  describe: 'Validate the configuration before (or while) the service runs: prints it with secrets masked, probes the target; exits 1 with one PROBLEM line each',
  builder,
  handler: async (argv) => {
    const report = await runCheck(loadConfig(argv), { unitFile: argv.unit });
    const width = Math.max(...report.settings.map(([k]) => k.length));
    console.log('configuration:');
    for (const [k, v] of report.settings) console.log(`  ${k.padEnd(width)}  ${v}`);
    for (const line of report.ok) console.log(`ok: ${line}`);
    for (const line of report.problems) console.error(`PROBLEM: ${line}`);
    console.log(report.problems.length ? `${report.problems.length} problem(s)` : 'no problems found');
    if (report.problems.length) process.exitCode = EXIT_FAILED;
  },
};
