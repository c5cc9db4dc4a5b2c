import type { Argv, CommandModule } from 'yargs';
import { simulateFax } from '../asterisk/simulate.js';
import { DEFAULTS, parseListen } from '../config/config.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { commonOptions } from './options.js';

const builder = (y: Argv) =>
  commonOptions(y)
    .option('agi', { type: 'string', describe: "The daemon's FastAGI address", default: DEFAULTS.agiListen })
    .option('tiff', { type: 'string', describe: 'TIFF to "receive" (copied into the spool as <uniqueid>.tiff)' })
    .option('status', { type: 'string', describe: 'FAXSTATUS', default: 'SUCCESS', choices: ['SUCCESS', 'FAILED'] })
    .option('pages', { type: 'number', describe: "FAXPAGES [default: the TIFF's page count]" })
    .option('from', { type: 'string', describe: 'CALLERID(num)', default: '15551230000' })
    .option('caller-name', { type: 'string', describe: 'CALLERID(name)', default: 'faxbridge simulate' })
    .option('to', { type: 'string', describe: 'FAXBRIDGE_TO (the DID)', default: '15559870000' })
    .option('uniqueid', { type: 'string', describe: 'UNIQUEID [default: generated]' });

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Play Asterisk against a running daemon (smoke test); exits 0 when FAXBRIDGE_ACK=1 came back',
  builder,
  handler: async (argv) => {
    const result = await simulateFax({
      agi: parseListen('--agi', argv.agi),
      spoolDir: loadConfig(argv).spoolDir,
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
};
