// The keep-alive race: a client reuses its idle keep-alive socket for the next
// request at the instant closing starts. Destroying idle sockets then resets
// that request (23/200 trials at ±3 ms, 7/200 at ±10 ms before the fix);
// closing now keeps idle sockets open KEEP_ALIVE_GRACE_MS and answers what
// arrives with `Connection: close` (src/lifecycle/connections.ts).
// Real sockets, real timers; KEEPALIVE_TRIALS=200 reproduces the figures.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gracefulShutdown } from '../../src/index.js';
import { FIRST_REQUEST_GRACE_MS, KEEP_ALIVE_GRACE_MS } from '../../src/lifecycle/connections.js';

const TRIALS = Number(process.env.KEEPALIVE_TRIALS ?? 50);
/** Trials run this many at a time, each on its own server. */
const PARALLEL = 10;
/** Long enough to schedule the send before closing for negative jitter. */
const DRAIN_MS = 30;
/** A trial whose send fired further than this from its planned time is left out (timers on a loaded machine). */
const ON_SCHEDULE_SLACK_MS = 50;

interface Trial {
  /** When the request was sent, relative to the start of closing (ms). */
  offsetMs: number;
  outcome: string;
  reused: boolean;
}

async function trial(jitterMs: number): Promise<Trial> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.keepAliveTimeout = 60_000;
  const { port } = server.address() as AddressInfo;
  // Defaults, but for a drain short enough for a test and no signal handlers.
  const shutdown = gracefulShutdown(server, { signals: [], drainDelayMs: DRAIN_MS });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = () =>
    new Promise<{ outcome: string; reused: boolean }>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ outcome: String(res.statusCode), reused: req.reusedSocket }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ outcome: error.code ?? error.message, reused: req.reusedSocket }));
    });
  // The first request leaves one idle keep-alive socket in the agent.
  assert.equal((await send()).outcome, '200');
  let closingAt = 0;
  shutdown.onPhase((phase) => {
    if (phase === 'closing') closingAt = performance.now();
  });
  const startedAt = performance.now();
  const terminated = shutdown.terminate();
  const result = await new Promise<Trial>((resolve) => {
    setTimeout(() => {
      const sentAt = performance.now();
      void send().then((r) => resolve({ ...r, offsetMs: sentAt - (closingAt || startedAt + DRAIN_MS) }));
    }, DRAIN_MS + jitterMs);
  });
  await terminated;
  agent.destroy();
  return result;
}

async function trials(jitterMs: number): Promise<Trial[]> {
  const results: Trial[] = [];
  for (let i = 0; i < TRIALS; i += PARALLEL) {
    const batch = Array.from({ length: Math.min(PARALLEL, TRIALS - i) }, (_, j) => trial(((((i + j) * 7919) % 201) / 100 - 1) * jitterMs));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

describe('keep-alive race at the start of closing', () => {
  for (const jitterMs of [3, 10]) {
    it(`${TRIALS} requests on reused keep-alive sockets at closing start ±${jitterMs} ms: 0 reset`, async function () {
      this.timeout(120_000);
      const all = await trials(jitterMs);
      // On a starved machine a timer may fire long after its time: such a
      // trial no longer tests the start of closing (past the 250 ms grace
      // the socket has been half-closed), so it is reported, not judged.
      const results = all.filter((r) => Math.abs(r.offsetMs) <= jitterMs + ON_SCHEDULE_SLACK_MS);
      const failed = results.filter((r) => r.outcome !== '200');
      const before = results.filter((r) => r.offsetMs < 0).length;
      console.log(
        `      ±${jitterMs} ms: ${results.length} trials (${before} sent before closing, ${results.length - before} after), ${failed.length} failed` +
          `; ${all.length - results.length} off schedule by more than ${ON_SCHEDULE_SLACK_MS} ms`,
      );
      assert.ok(results.length >= all.length / 2, `only ${results.length} of ${all.length} trials ran on schedule`);
      assert.deepEqual(failed, []);
      assert.ok(results.every((r) => r.reused), 'every second request went on the reused socket');
      // The trial straddles the start of closing (timers are not exact, hence no fixed split).
      assert.ok(before > 0 && before < results.length, `${before} of ${results.length} sent before closing`);
    });
  }

  it('is documented with the graces the code uses', () => {
    const guide = readFileSync(new URL('../../docs/kubernetes.md', import.meta.url), 'utf8');
    assert.match(guide, new RegExp(`open for ${KEEP_ALIVE_GRACE_MS} ms \\(\`KEEP_ALIVE_GRACE_MS\``));
    assert.match(guide, new RegExp(`get up to\\s+${FIRST_REQUEST_GRACE_MS / 1000} s the same way`));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.match(readme, new RegExp(`idle keep-alive sockets get a ${KEEP_ALIVE_GRACE_MS} ms grace`));
  });
});
