import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const tls = {
  key: readFileSync(new URL('../fixtures/tls/key.pem', import.meta.url)),
  cert: readFileSync(new URL('../fixtures/tls/cert.pem', import.meta.url)),
};

/** One HTTP flavour for shared suites: how to serve, and how a keep-alive client talks to it. */
export interface ServerFlavour {
  readonly name: string;
  listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }>;
  agent(maxSockets: number): http.Agent;
}

async function listenOn(server: http.Server, scheme: string): Promise<{ server: http.Server; url: string }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Long on purpose: shutdown must not wait for keep-alive timeouts.
  server.keepAliveTimeout = 60_000;
  return { server, url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export const SERVER_FLAVOURS: readonly ServerFlavour[] = [
  {
    name: 'http',
    listen: (handler) => listenOn(http.createServer(handler), 'http'),
    agent: (maxSockets) => new http.Agent({ keepAlive: true, maxSockets }),
  },
  {
    name: 'https',
    // https.Server is an http.Server for every API gracefulShutdown() uses.
    listen: (handler) => listenOn(https.createServer(tls, handler), 'https'),
    agent: (maxSockets) => new https.Agent({ keepAlive: true, maxSockets, ca: tls.cert }),
  },
];

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A GET through `agent`; rejects on socket errors (what a client sees as a failed request). */
export function get(url: string, agent: http.Agent): Promise<Reply> {
  const mod = url.startsWith('https') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
