/**
 * A real SMTP server on loopback (nodemailer's smtp-server): STARTTLS with a certificate made
 * with openssl, AUTH PLAIN and LOGIN, and what it received parsed with mailparser. A test can
 * make it answer 4xx or 5xx, or drop the connection in the middle of DATA.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { tempDir } from './daemon.js';

export interface ReceivedMail {
  envelopeTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
  secure: boolean;
  user: string | undefined;
}

export interface SmtpSink {
  port: number;
  url: string;
  /** PEM of the self-signed certificate, to pass as --smtp-ca-file. */
  caFile: string;
  received: ReceivedMail[];
  /** Per message: 'accept', a [code, text] to refuse with, or 'drop' to cut the connection during DATA. */
  state: { answer: () => 'accept' | 'drop' | [number, string]; attempts: number };
  close(): Promise<void>;
}

export async function startSmtpSink(o: { user?: string; password?: string } = {}): Promise<SmtpSink> {
  const dir = await tempDir('faxbridge-smtp-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const received: ReceivedMail[] = [];
  const sockets = new Set<Socket>();
  const state: SmtpSink['state'] = { answer: () => 'accept', attempts: 0 };
  const server = new SMTPServer({
    key: readFileSync(key),
    cert: readFileSync(cert),
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !o.user,
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === o.user && auth.password === o.password) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      state.attempts++;
      const answer = state.answer();
      const chunks: Buffer[] = [];
      if (answer === 'drop') stream.once('data', () => sockets.forEach((s) => s.destroy()));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (answer === 'drop') return;
        if (Array.isArray(answer)) return callback(Object.assign(new Error(answer[1]), { responseCode: answer[0] }));
        const raw = Buffer.concat(chunks);
        received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), raw, parsed: await simpleParser(raw), secure: session.secure, user: session.user as string | undefined });
        callback(null, 'Queued as FB1');
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // smtp-server gives no handle on a session's socket: keep the server's, to drop them.
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://localhost:${port}`,
    caFile: cert,
    received,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
