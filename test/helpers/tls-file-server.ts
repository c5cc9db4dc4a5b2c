/**
 * A real HTTPS server on loopback that plays the providers' file hosts, and an undici dispatcher
 * that connects every TLS connection to it (checking the certificate for the requested name),
 * recording which hosts were asked for. DNS and the internet are the only things not real here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Agent } from 'undici';
import { tempDir } from './daemon.js';

export interface FileRoute {
  status: number;
  body: Buffer;
  headers?: Record<string, string>;
}

export interface TlsFileServer {
  /** `https://host/path` → answer. */
  routes: Map<string, FileRoute | ((req: { authorization?: string }) => FileRoute | undefined)>;
  /** Every hostname a connection was opened for, in order. */
  connections: string[];
  requests: Array<{ url: string; authorization: string | undefined }>;
  dispatcher: Agent;
  close(): Promise<void>;
}

export async function startTlsFileServer(hosts: string[]): Promise<TlsFileServer> {
  const dir = await tempDir('faxbridge-tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${hosts[0]}`,
    '-addext', `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`, '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const ca = readFileSync(cert);
  const routes: TlsFileServer['routes'] = new Map();
  const requests: TlsFileServer['requests'] = [];
  const server = https.createServer({ key: readFileSync(key), cert: ca }, (req, res) => {
    const url = `https://${req.headers.host}${req.url}`;
    requests.push({ url, authorization: req.headers.authorization });
    const route = routes.get(url);
    const answer = typeof route === 'function' ? route({ authorization: req.headers.authorization }) : route;
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer.status, answer.headers ?? { 'content-type': 'application/pdf' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const connections: string[] = [];
  const dispatcher = new Agent({
    connect: (opts, callback) => {
      connections.push(opts.hostname);
      const socket = tls.connect({ host: '127.0.0.1', port, servername: opts.servername || opts.hostname, ca, ALPNProtocols: ['http/1.1'] });
      socket.once('secureConnect', () => callback(null, socket));
      socket.once('error', (err) => callback(err, null));
    },
  });
  return {
    routes,
    connections,
    requests,
    dispatcher,
    async close() {
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
