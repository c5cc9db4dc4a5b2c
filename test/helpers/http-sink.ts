/** A real HTTP server that records every request and answers what the test says. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Answer = (r: Received) => [number, string, Record<string, string>?];

export interface HttpSink {
  port: number;
  url: string;
  received: Received[];
  /** Change the answer while the test runs. */
  state: { answer: Answer };
  close(): Promise<void>;
}

export async function startHttpSink(answer: Answer = () => [200, '{"id":"t1","status":"ok"}'], port = 0): Promise<HttpSink> {
  const received: Received[] = [];
  const state = { answer };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const [status, body, headers] = state.answer(r);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
