// WebSockets through a shutdown: upgraded sockets never send another HTTP
// request, so closing must know them from the 'upgrade' event, close them
// with the close handshake and count the ones it had to destroy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { gracefulShutdown, shutdownSignal } from '../../src/index.js';
import { processState } from '../../src/internal/state.js';
import { resetState } from '../../src/testing.js';

const FAST = { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000, jobsTimeoutMs: 200, hookTimeoutMs: 200, flushTimeoutMs: 200 } as const;

async function listen(handler?: http.RequestListener) {
  const server = http.createServer(handler ?? ((_req, res) => res.end('ok')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A ws client, resolved once open; `closed` resolves with the close code it saw. */
async function connect(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  await once(ws, 'open');
  return { ws, closed };
}

describe('gracefulShutdown() with WebSockets', () => {
  beforeEach(() => resetState());
  afterEach(() => resetState());

  it('websockets: wss: clients see close code 1001, closing ends with the handshake, nothing counted as cut', async () => {
    const { server, port } = await listen();
    const wss = new WebSocketServer({ server });
    const shutdown = gracefulShutdown(server, { ...FAST, websockets: wss });
    const clients = await Promise.all([connect(port), connect(port), connect(port)]);
    const entry = [...processState().shutdowns.entries()][0]!;
    // Upgraded connections count as open and active in the connection metric.
    assert.deepEqual(entry.connections(), { open: 3, active: 3 });
    const report = await shutdown.terminate();
    const seen = await Promise.all(clients.map((c) => c.closed));
    assert.deepEqual(seen, Array.from({ length: 3 }, () => ({ code: 1001, reason: 'server shutting down' })));
    console.log(`      3 WebSockets closed with 1001, closing=${report.durationsMs.closing.toFixed(0)}ms`);
    assert.equal(report.upgradedClosed, 3);
    assert.equal(report.upgradedCut, 0);
    assert.equal(report.socketsDestroyed, 0);
    assert.deepEqual(report.timedOut, []);
    assert.equal(report.exitCode, 0);
    // No first-request grace for upgraded sockets: well under closeTimeoutMs / 4.
    assert.ok(report.durationsMs.closing < 400, `closing took ${report.durationsMs.closing} ms`);
    assert.equal(wss.clients.size, 0);
  });

  it('a peer that never answers the close frame is destroyed at closeTimeoutMs, counted as cut, and the exit code is 1', async () => {
    const { server, port } = await listen();
    const wss = new WebSocketServer({ server });
    const shutdown = gracefulShutdown(server, { ...FAST, closeTimeoutMs: 300, websockets: [wss] });
    // A raw client: it completes the opening handshake and then ignores every frame.
    const raw = net.connect(port, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const [head] = (await once(raw, 'data')) as [Buffer];
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
    const frames: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => frames.push(chunk));
    const rawClosed = once(raw, 'close');
    raw.on('error', () => {});
    const report = await shutdown.terminate();
    await rawClosed;
    // The close frame it was sent: opcode 8, status 1001 (0x03e9).
    const frame = Buffer.concat(frames);
    assert.equal(frame[0], 0x88);
    assert.equal(frame.readUInt16BE(2), 1001);
    assert.equal(report.upgradedClosed, 0);
    assert.equal(report.upgradedCut, 1);
    assert.equal(report.socketsDestroyed, 1);
    assert.deepEqual(report.timedOut, ['closing']);
    assert.equal(report.exitCode, 1);
    assert.ok(report.durationsMs.closing >= 290 && report.durationsMs.closing < 2_000, `closing took ${report.durationsMs.closing} ms`);
  });

  it('without the option: the application closes its sockets on shutdownSignal() and nothing is cut', async () => {
    const { server, port } = await listen();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      const signal = shutdownSignal();
      signal.addEventListener('abort', () => ws.close(1012, 'restarting'), { once: true });
    });
    const shutdown = gracefulShutdown(server, FAST);
    const client = await connect(port);
    const report = await shutdown.terminate();
    assert.deepEqual(await client.closed, { code: 1012, reason: 'restarting' });
    assert.equal(report.upgradedClosed, 1);
    assert.equal(report.upgradedCut, 0);
    assert.equal(report.exitCode, 0);
  });

  it('without the option and without an application close: the socket is destroyed at closeTimeoutMs (1006) and counted', async () => {
    const { server, port } = await listen();
    new WebSocketServer({ server });
    const shutdown = gracefulShutdown(server, { ...FAST, closeTimeoutMs: 300 });
    const client = await connect(port);
    const report = await shutdown.terminate();
    assert.equal((await client.closed).code, 1006);
    assert.equal(report.upgradedCut, 1);
    assert.equal(report.socketsDestroyed, 1);
    assert.equal(report.exitCode, 1);
  });

  it('leaves upgrade requests to Node when the application has no upgrade listener', async () => {
    const { server, port } = await listen((req, res) => res.end(`plain ${req.headers.upgrade}`));
    const shutdown = gracefulShutdown(server, FAST);
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get({ port, host: '127.0.0.1', headers: { connection: 'upgrade', upgrade: 'websocket' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
    });
    assert.equal(body, 'plain websocket');
    assert.equal(server.listenerCount('upgrade'), 0);
    const report = await shutdown.terminate();
    assert.equal(report.exitCode, 0);
  });

  it('rejects a websockets option without a clients set, naming it', () => {
    const server = http.createServer();
    assert.throws(() => gracefulShutdown(server, { ...FAST, websockets: {} as never }), {
      name: 'TypeError',
      message: /^Expected `websockets` to be a WebSocket server with a `clients` Set/,
    });
    assert.throws(() => gracefulShutdown(server, { ...FAST, websockets: [{ clients: new Set() }, null] as never }), {
      name: 'TypeError',
      message: /^Expected `websockets\[1\]`/,
    });
  });
});
