/**
 * Sends fax mail through nodemailer, and says what each SMTP answer means for the outbox:
 * 250 delivered; 4xx, a refused, dropped or timed-out connection retried; 5xx dead at once
 * (the reply kept); rejected credentials or a server that cannot do the TLS we require are
 * configuration errors: retried, and logged loudly, so nothing is lost while someone fixes them.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailConfig } from '../config/config.js';
import type { FaxMail } from './message.js';

export interface MailCredentials {
  user(): string | undefined;
  password(): string | undefined;
}

export type SendOutcome =
  | { action: 'delivered'; status: number; response: string; messageId: string }
  | { action: 'retry' | 'dead'; status: number | null; error: string; response: string | null; configError: boolean };

export interface MailSender {
  send(mail: FaxMail): Promise<SendOutcome>;
  /** EHLO, STARTTLS and AUTH, as `faxbridge check` does them. */
  verify(): Promise<{ ok: true } | { ok: false; problem: string }>;
  close(): void;
}

export function createMailSender(config: MailConfig, credentials: MailCredentials, o: { timeoutMs?: number } = {}): MailSender {
  const timeout = o.timeoutMs ?? 30_000;
  let transport: { key: string; t: Transporter } | undefined;

  // Credentials rotate: a new transport when they change.
  function transporter(): Transporter {
    const user = credentials.user();
    const pass = credentials.password();
    const key = `${user ?? ''}\u0000${pass ?? ''}`;
    if (transport?.key !== key) {
      transport?.t.close();
      const url = new URL(config.smtpUrl);
      const secure = url.protocol === 'smtps:';
      transport = {
        key,
        t: nodemailer.createTransport({
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: Number(url.port) || (secure ? 465 : 587),
          secure,
          // STARTTLS whenever offered; with requireTls, refuse to go on without it.
          requireTLS: config.requireTls && !secure,
          ignoreTLS: false,
          auth: user ? { user, pass: pass ?? '' } : undefined,
          connectionTimeout: timeout,
          greetingTimeout: timeout,
          socketTimeout: timeout,
          tls: { servername: url.hostname, ca: config.ca },
        }),
      };
    }
    return transport.t;
  }

  return {
    async send(mail) {
      try {
        const info = await transporter().sendMail({
          from: mail.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          attachments: mail.attachments,
        });
        const response = String(info.response ?? '');
        return { action: 'delivered', status: Number(/^\d{3}/.exec(response)?.[0] ?? 250), response, messageId: String(info.messageId ?? mail.messageId) };
      } catch (err) {
        return classify(err);
      }
    },
    async verify() {
      try {
        await transporter().verify();
        return { ok: true };
      } catch (err) {
        const c = classify(err);
        return { ok: false, problem: c.error };
      }
    },
    close() {
      transport?.t.close();
      transport = undefined;
    },
  };
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  command?: string;
}

export function classify(err: unknown): Exclude<SendOutcome, { action: 'delivered' }> {
  const e = err as SmtpError;
  const status = typeof e.responseCode === 'number' ? e.responseCode : null;
  const response = e.response ?? null;
  const error = `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`;
  if (e.code === 'EAUTH' || status === 535 || status === 534 || status === 530) {
    return { action: 'retry', status, error: `the SMTP server refused our credentials (FAXBRIDGE_SMTP_USER / FAXBRIDGE_SMTP_PASSWORD): ${error}`, response, configError: true };
  }
  if (e.code === 'ETLS' || /STARTTLS/i.test(e.message ?? '')) {
    return { action: 'retry', status, error: `TLS is required (--smtp-require-tls) but could not be used: ${error}`, response, configError: true };
  }
  if (status !== null && status >= 500) return { action: 'dead', status, error, response, configError: false };
  return { action: 'retry', status, error, response, configError: false };
}
