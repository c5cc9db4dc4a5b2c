import type { CommandModule } from 'yargs';
import { runCheck } from '../app/check.js';
import { loadConfig } from './load-config.js';
import { EXIT_FAILED } from './exit-codes.js';
import { serveOptions } from './options.js';

export const checkCommand: CommandModule = {
  command: 'check',
  describe: 'Validate the configuration, print it with secrets masked, and probe the target; exits 1 with one line per problem',
  builder: (y) => serveOptions(y),
  handler: async (argv) => {
    const report = await runCheck(loadConfig(argv));
    const width = Math.max(...report.settings.map(([k]) => k.length));
    console.log('configuration:');
    for (const [k, v] of report.settings) console.log(`  ${k.padEnd(width)}  ${v}`);
    for (const line of report.ok) console.log(`ok: ${line}`);
    for (const line of report.problems) console.error(`PROBLEM: ${line}`);
    console.log(report.problems.length ? `${report.problems.length} problem(s)` : 'no problems found');
    if (report.problems.length) process.exitCode = EXIT_FAILED;
  },
};
