// Server-Sent Events and other long-lived responses through a shutdown: they
// never finish on their own, so closing aborts shutdownSignal() and the
// handler ends its response; the report tells those that ended from those cut.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { gracefulShutdown, shutdownSignal } from '../../src/index.js';
import { resetState } from '../../src/testing.js';
import { deferred } from '../helpers/events.js';

const FAST = { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000, jobsTimeoutMs: 200, hookTimeoutMs: 200, flushTimeoutMs: 200 } as const;

/** An SSE endpoint; with `honourSignal` it sends a last event and ends when closing starts. */
function sseApp(honourSignal: boolean, opened: () => void) {
  const app = express();
  app.get('/events', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: hello\n\n');
    const tick = setInterval(() => res.write('data: tick\n\n'), 20);
    const end = () => {
      clearInterval(tick);
      res.end('event: bye\ndata: server shutting down\n\n');
    };
    const signal = shutdownSignal();
    if (honourSignal) signal.addEventListener('abort', end, { once: true });
    res.on('close', () => {
      clearInterval(tick);
      signal.removeEventListener('abort', end);
    });
    opened();
  });
  return app;
}

async function listen(app: express.Express) {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Reads an event stream with http.get until it ends: 'end' (clean) or an error. */
function readStream(url: string): Promise<{ outcome: string; body: string }> {
  return new Promise((resolve) => {
    let body = '';
    const req = http.get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ outcome: res.complete ? 'ended' : 'incomplete', body }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ outcome: error.code ?? error.message, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ outcome: error.code ?? error.message, body }));
  });
}

describe('gracefulShutdown() with streaming responses', () => {
  beforeEach(() => resetState());
  afterEach(() => resetState());

  it('an SSE handler ending on shutdownSignal(): the reader sees the stream end cleanly, counted as finished', async () => {
    const open = deferred();
    const { server, url } = await listen(sseApp(true, open.resolve));
    const shutdown = gracefulShutdown(server, FAST);
    const reading = readStream(`${url}/events`);
    await open.promise;
    assert.equal(shutdownSignal().aborted, false);
    const report = await shutdown.terminate();
    const { outcome, body } = await reading;
    console.log(`      SSE ended on shutdownSignal(), closing=${report.durationsMs.closing.toFixed(0)}ms`);
    assert.equal(outcome, 'ended');
    assert.match(body, /^data: hello\n\n/);
    assert.ok(body.endsWith('event: bye\ndata: server shutting down\n\n'), body.slice(-80));
    assert.equal(shutdownSignal().aborted, true);
    assert.equal(report.inFlightAtStart, 1);
    assert.equal(report.responsesFinished, 1);
    assert.equal(report.responsesCut, 0);
    assert.equal(report.socketsDestroyed, 0);
    assert.equal(report.exitCode, 0);
    assert.ok(report.durationsMs.closing < 1_000, `closing took ${report.durationsMs.closing} ms`);
  });

  it('a fetch() body reader sees the stream end (done) with the last event', async () => {
    const open = deferred();
    const { server, url } = await listen(sseApp(true, open.resolve));
    const shutdown = gracefulShutdown(server, FAST);
    const response = await fetch(`${url}/events`);
    await open.promise;
    const reader = response.body!.getReader();
    const terminated = shutdown.terminate();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    const report = await terminated;
    assert.ok(text.endsWith('data: server shutting down\n\n'));
    assert.equal(report.responsesFinished, 1);
    assert.equal(report.responsesCut, 0);
    assert.equal(report.exitCode, 0);
  });

  it('a stream that ignores the signal is cut at closeTimeoutMs: counted as cut, exit code 1', async () => {
    const open = deferred();
    const { server, url } = await listen(sseApp(false, open.resolve));
    const shutdown = gracefulShutdown(server, { ...FAST, closeTimeoutMs: 300 });
    const reading = readStream(`${url}/events`);
    await open.promise;
    const report = await shutdown.terminate();
    const { outcome } = await reading;
    assert.notEqual(outcome, 'ended');
    assert.equal(report.responsesFinished, 0);
    assert.equal(report.responsesCut, 1);
    assert.equal(report.socketsDestroyed, 1);
    assert.deepEqual(report.timedOut, ['closing']);
    assert.equal(report.exitCode, 1);
    assert.ok(report.durationsMs.closing >= 290, `closing took ${report.durationsMs.closing} ms`);
  });

  it('counts finished and cut streams apart when both happen', async () => {
    const app = express();
    let opened = 0;
    const both = deferred();
    app.get('/events', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: hello\n\n');
      if (req.query.polite === '1') shutdownSignal().addEventListener('abort', () => res.end(), { once: true });
      if (++opened === 2) both.resolve();
    });
    const { server, url } = await listen(app);
    const shutdown = gracefulShutdown(server, { ...FAST, closeTimeoutMs: 300 });
    const polite = readStream(`${url}/events?polite=1`);
    const rude = readStream(`${url}/events?polite=0`);
    await both.promise;
    const report = await shutdown.terminate();
    assert.equal((await polite).outcome, 'ended');
    assert.notEqual((await rude).outcome, 'ended');
    assert.equal(report.responsesFinished, 1);
    assert.equal(report.responsesCut, 1);
    assert.equal(report.exitCode, 1);
  });
});
