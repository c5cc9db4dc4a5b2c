import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../config/config.js';
import { tiffToPdf } from '../documents/tiff-to-pdf.js';
import type { InboxRow } from '../inbox/store.js';
import { faxMail } from '../mail/message.js';
import { isAddress } from '../mail/routes.js';
import { createMailSender } from '../mail/sender.js';
import { EXIT_FAILED } from './exit-codes.js';
import { loadConfig } from './load-config.js';
import { serveOptions } from './options.js';
import { SAMPLE_TIFF } from './simulate.js';

const builder = (y: Argv) =>
  serveOptions(y)
    .positional('action', { choices: ['test'] as const, demandOption: true })
    .option('to', { type: 'string', demandOption: true, describe: 'Where to send the test email' })
    .example('$0 mail test --to frontdesk@example.com', 'Send a test fax email (the sample fax as PDF) and print what the server answered');

type Args = ReturnType<typeof builder> extends Argv<infer U> ? U : never;

export const mailCommand: CommandModule<object, Args> = {
  command: 'mail <action>',
  describe: 'Fax to email: send a test email through the configured SMTP server',
  builder,
  handler: async (argv) => {
    const config = loadConfig(argv);
    if (!config.mail) throw new ConfigError('no SMTP server configured: set --smtp-url (FAXBRIDGE_SMTP_URL)');
    if (!isAddress(argv.to)) throw new ConfigError(`--to "${argv.to}" is not an email address`);
    const sender = createMailSender(config.mail, {
      user: () => config.secrets.FAXBRIDGE_SMTP_USER[0]?.value,
      password: () => config.secrets.FAXBRIDGE_SMTP_PASSWORD[0]?.value,
    });
    const now = new Date().toISOString();
    const sample: InboxRow = {
      id: 'test',
      source: 'asterisk',
      provider_id: 'test',
      webhook_id: null,
      from_number: '15551230000',
      to_number: '15559870000',
      status: 'received',
      provider_status: 'SUCCESS',
      pages: 1,
      received_at: now,
      document_path: null,
      document_sha256: null,
      document_bytes: null,
      document_type: 'tiff',
      meta: JSON.stringify({ from_name: 'faxbridge mail test' }),
      created_at: now,
      purged_at: null,
      deleted_at: null,
    };
    const mail = faxMail(sample, { kind: 'pdf', bytes: tiffToPdf(await readFile(SAMPLE_TIFF)) }, { from: config.mail.from, to: [argv.to], hostname: os.hostname() });
    mail.subject = `[test] ${mail.subject}`;
    mail.messageId = `<test-${Date.now()}@${os.hostname()}>`;
    const result = await sender.send(mail);
    sender.close();
    if (result.action === 'delivered') {
      console.log(`sent to ${argv.to} via ${config.mail.smtpUrl}: the server answered "${result.response}"`);
      return;
    }
    console.error(`faxbridge: not sent: ${result.error}${result.response ? ` (the server answered "${result.response}")` : ''}`);
    process.exitCode = EXIT_FAILED;
  },
};
