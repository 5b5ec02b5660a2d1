// What the shutdown report counts as cut: only requests the shutdown itself
// cut off, not clients that hung up while the service ran normally.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gracefulShutdown } from '../../../src/index.js';

describe('gracefulShutdown() report', () => {
  it('does not count a request its client abandoned before shutdown as cut, and exits 0', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = http.createServer((_req, res) => {
      void released.then(() => res.end('late'));
    });
    const arrived = once(server, 'request');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const shutdown = gracefulShutdown(server, { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000 });

    // A client sends a request and hangs up before the answer, the way a load generator stops.
    const req = http.get({ port, host: '127.0.0.1', path: '/slow', agent: false });
    req.on('error', () => {});
    const [serverReq] = (await arrived) as [http.IncomingMessage];
    const serverSocketClosed = once(serverReq.socket, 'close');
    req.destroy();
    await serverSocketClosed;
    release();

    const report = await shutdown.terminate();
    assert.equal(report.socketsDestroyed, 0);
    assert.deepEqual(report.timedOut, []);
    assert.equal(report.exitCode, 0);
  });
});
