import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { smokeTest } from '../app/smoke-test.js';
import { parseListen } from '../config/config.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { commonOptions } from './options.js';

/** The sample fax shipped with faxbridge (one page, as spandsp writes it). */
export const SAMPLE_TIFF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'samples', 'test-fax.tiff');

const builder = (y: Argv) =>
  commonOptions(y)
    .option('agi', { type: 'string', describe: "The daemon's FastAGI address [default: --agi-listen]" })
    .option('http', { type: 'string', describe: "The daemon's HTTP address, asked for its spool dir and read back [default: --http-listen]" })
    .option('agi-listen', { type: 'string', hidden: true })
    .option('http-listen', { type: 'string', hidden: true })
    .option('tiff', { type: 'string', describe: 'The TIFF to "receive" (put into the spool as <uniqueid>.tiff)', defaultDescription: 'samples/test-fax.tiff' })
    .option('status', { type: 'string', describe: 'FAXSTATUS', default: 'SUCCESS', choices: ['SUCCESS', 'FAILED'] })
    .option('pages', { type: 'number', describe: "FAXPAGES [default: the TIFF's page count]" })
    .option('from', { type: 'string', describe: 'CALLERID(num)', default: '15551230000' })
    .option('caller-name', { type: 'string', describe: 'CALLERID(name)', default: 'faxbridge simulate' })
    .option('to', { type: 'string', describe: 'FAXBRIDGE_TO (the DID)', default: '15559870000' })
    .option('uniqueid', { type: 'string', describe: 'UNIQUEID [default: generated]' })
    .example('$0 simulate', 'Send the sample fax to the local daemon and check it was stored with its document');

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Smoke test: play Asterisk against the running daemon with a real fax; exits 0 only if it was stored with its document',
  builder,
  handler: async (argv) => {
    const config = loadConfig(argv);
    const outcome = await smokeTest({
      config,
      agi: argv.agi ? parseListen('--agi', argv.agi) : config.agiListen,
      http: argv.http ? parseListen('--http', argv.http) : config.httpListen,
      tiff: argv.tiff ?? SAMPLE_TIFF,
      status: argv.status,
      pages: argv.pages,
      from: argv.from,
      callerName: argv['caller-name'],
      to: argv.to,
      uniqueid: argv.uniqueid,
    });
    switch (outcome.kind) {
      case 'no-daemon':
        console.error(`faxbridge: ${outcome.message}`);
        process.exitCode = EXIT_FAILED;
        return;
      case 'not-acked':
        console.error(`uniqueid ${outcome.uniqueid}: NOT acknowledged (AGISTATUS=${outcome.agistatus}): Asterisk would write the .pending marker; see the daemon's log`);
        process.exitCode = EXIT_FAILED;
        return;
      case 'queued':
        console.log(`uniqueid ${outcome.uniqueid}: acknowledged and queued for ${outcome.target} (see "faxbridge outbox list")`);
        return;
      case 'acked':
        console.log(`uniqueid ${outcome.uniqueid}: acknowledged, stored as ${outcome.id}; ${outcome.why} (see "faxbridge inbox show ${outcome.id}")`);
        return;
      case 'stored':
        if (!outcome.document) {
          console.error(`uniqueid ${outcome.uniqueid}: stored as ${outcome.id} WITHOUT its document: ${outcome.problem ?? 'no document'}`);
          process.exitCode = EXIT_FAILED;
          return;
        }
        console.log(
          `uniqueid ${outcome.uniqueid}: stored as ${outcome.id}, ${outcome.pages ?? '?'} page(s), document kept (${outcome.document.type}, ${outcome.document.bytes} bytes)`,
        );
        console.log(`see it with: faxbridge inbox show ${outcome.id}`);
    }
  },
};
