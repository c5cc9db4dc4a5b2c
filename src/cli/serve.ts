import type { CommandModule } from 'yargs';
import { startDaemon } from '../app/daemon.js';
import { resolveConfig } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { serveOptions } from './options.js';

const SECRETS_HELP =
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
  'A secret that is not set is generated once into <data-dir>/secrets/.';

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: 'Run the daemon: FastAGI server, HTTP receiver and delivery worker',
  builder: (y) => serveOptions(y).epilog(SECRETS_HELP),
  handler: async (argv) => {
    const config = resolveConfig(argv, process.env);
    const log = createLogger(config.logLevel);
    for (const w of config.warnings) log.warn({ hint: w }, 'config.unknown_setting');
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
  },
};
