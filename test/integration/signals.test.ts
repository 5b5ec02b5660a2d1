// Signals and exit codes, in a forked child with a ready handshake: the only
// honest way to test process.exit and signal handlers (STYLE.md, close-with-grace).
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { gracefulShutdown, type GracefulShutdownOptions } from '../../src/index.js';
import { deferred } from '../helpers/events.js';
import { withoutCoverage } from '../helpers/subprocess.js';

const CHILD = fileURLToPath(new URL('../fixtures/shutdown-child.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  /** Resolves when the child's log has a line for which `match` is true. */
  logged: (match: (line: ReturnType<Child['logs']>[number]) => boolean) => Promise<void>;
  port: number;
  logs: () => {
    level: string;
    msg: string;
    phase?: string;
    hook?: string;
    signal?: string;
    observed?: string;
    during?: string;
    report?: { exitCode: number; durationsMs: Record<string, number> };
  }[];
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

const started: ChildProcess[] = [];

async function start(mode: string): Promise<Child> {
  const proc = fork(CHILD, [], {
    env: withoutCoverage({ ...process.env, SHUTDOWN_MODE: mode }),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  started.push(proc);
  let out = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => (out += chunk));
  const exit = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const [message] = (await Promise.race([once(proc, 'message'), exit.then(() => assert.fail('child exited before ready'))])) as [{ port: number }];
  const logs = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ReturnType<Child['logs']>[number]);
  const logged = (match: (line: ReturnType<Child['logs']>[number]) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!logs().some(match)) return;
        proc.stdout!.off('data', check);
        resolve();
      };
      proc.stdout!.on('data', check);
      check();
    });
  return { proc, port: message.port, logs, logged, exit };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

const phasesOf = (child: Child) => child.logs().flatMap((l) => (l.phase === undefined ? [] : [l.phase]));

describe('gracefulShutdown() in a real process', function () {
  this.timeout(30_000);
  // A failed assertion must not leave a child behind holding the test run open.
  afterEach(() => {
    for (const proc of started.splice(0)) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });

  it('SIGTERM: finishes the request in flight, goes through every phase and exits 0', async () => {
    const child = await start('ok');
    const arrived = once(child.proc, 'message');
    const inFlight = get(child.port, '/slow');
    assert.deepEqual((await arrived)[0], { request: '/slow' });
    child.proc.kill('SIGTERM');
    assert.deepEqual(await inFlight, { status: 200, body: 'done' });
    const [code, signal] = await child.exit;
    assert.deepEqual([code, signal], [0, null]);
    assert.deepEqual(phasesOf(child), ['draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped']);
    assert.equal(child.logs().find((l) => l.signal !== undefined)?.signal, 'SIGTERM');
  });

  it('SIGINT shuts down the same way', async () => {
    const child = await start('ok');
    child.proc.kill('SIGINT');
    const [code] = await child.exit;
    assert.equal(code, 0);
    assert.equal(phasesOf(child).at(-1), 'stopped');
  });

  it('exits 1 when a beforeExit hook fails, after running the hooks after it', async () => {
    const child = await start('failing-hook');
    child.proc.kill('SIGTERM');
    const [code] = await child.exit;
    assert.equal(code, 1);
    const logs = child.logs();
    assert.ok(logs.some((l) => l.level === 'error' && l.hook === 'closeBrokenPool'), 'the failing hook is logged by name');
    assert.ok(logs.some((l) => l.msg === 'second hook ran'), 'the next hook still ran');
  });

  it('a second signal during a long drain forces exit 1 at once', async () => {
    const child = await start('long-drain');
    child.proc.kill('SIGTERM');
    await child.logged((l) => l.phase === 'draining');
    assert.deepEqual(phasesOf(child), ['draining']);
    const secondAt = Date.now();
    child.proc.kill('SIGTERM');
    const [code] = await child.exit;
    assert.equal(code, 1);
    // The drain delay is 60 s: anything near it would mean the second signal was ignored.
    assert.ok(Date.now() - secondAt < 10_000, `forced exit took ${Date.now() - secondAt} ms`);
    assert.ok(child.logs().some((l) => l.level === 'warn' && /second signal/.test(l.msg)));
  });

  it("signals: ['SIGUSR2']: SIGUSR2 starts the shutdown, which goes through every phase and exits 0", async () => {
    const child = await start('custom-signals');
    child.proc.kill('SIGUSR2');
    const [code, signal] = await child.exit;
    assert.deepEqual([code, signal], [0, null]);
    assert.deepEqual(phasesOf(child), ['draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped']);
    assert.equal(child.logs().find((l) => l.signal !== undefined)?.signal, 'SIGUSR2');
  });

  it("signals: ['SIGUSR2'] leaves SIGTERM to Node: the process dies of it, no phase runs", async () => {
    const child = await start('custom-signals');
    child.proc.kill('SIGTERM');
    const [code, signal] = await child.exit;
    assert.deepEqual([code, signal], [null, 'SIGTERM']);
    assert.deepEqual(phasesOf(child), []);
  });

  it('forceExitOnSecondSignal: false: a second signal during the drain is ignored, the shutdown completes and exits 0', async () => {
    const child = await start('no-force');
    child.proc.kill('SIGTERM');
    await child.logged((l) => l.phase === 'draining');
    assert.deepEqual(phasesOf(child), ['draining']);
    child.proc.kill('SIGTERM');
    // The fixture's own SIGTERM listener runs after throughline's: both signals were handled while draining.
    const seenDuring = () => child.logs().flatMap((l) => (l.observed === undefined ? [] : [l.during]));
    await Promise.race([
      child.logged(() => seenDuring().length === 2),
      child.exit.then(([code]) => assert.fail(`the second signal ended the process (exit code ${code}) instead of being ignored`)),
    ]);
    assert.deepEqual(seenDuring(), ['draining', 'draining']);
    const [code, signal] = await child.exit;
    assert.deepEqual([code, signal], [0, null]);
    assert.deepEqual(phasesOf(child), ['draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped']);
    const logs = child.logs();
    assert.ok(!logs.some((l) => /second signal/.test(l.msg)), 'no forced exit is logged');
    const report = logs.find((l) => l.report !== undefined)?.report;
    assert.ok(report, 'the shutdown report is logged');
    assert.equal(report.exitCode, 0);
    // The 3 s drain ran to its end instead of being cut short.
    assert.ok(report.durationsMs['draining']! >= 2_900, `drained for ${report.durationsMs['draining']} ms`);
  });

  it('with signals: [] leaves SIGTERM to Node: the process dies of the signal, no phase runs', async () => {
    const child = await start('no-signals');
    child.proc.kill('SIGTERM');
    const [code, signal] = await child.exit;
    assert.deepEqual([code, signal], [null, 'SIGTERM']);
    assert.deepEqual(phasesOf(child), []);
  });
});

// The injected `exit` replaces process.exit, so it can be watched in this very
// process: a real SIGUSR2 (no other listener in the test run) starts the shutdown.
describe('gracefulShutdown({ exit }) in this process', function () {
  this.timeout(30_000);

  async function shutdownOnSigusr2(options: GracefulShutdownOptions) {
    const server = http.createServer((_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const lines: { msg: string; signal?: string }[] = [];
    const record = (obj: object, msg: string) => void lines.push({ msg, ...obj });
    const codes: number[] = [];
    const exited = deferred<number>();
    const before = process.listenerCount('SIGUSR2');
    const shutdown = gracefulShutdown(server, {
      drainDelayMs: 0,
      closeTimeoutMs: 2_000,
      jobsTimeoutMs: 500,
      hookTimeoutMs: 500,
      flushTimeoutMs: 500,
      logger: { info: record, warn: record, error: record },
      signals: ['SIGUSR2'],
      exit: (code) => {
        codes.push(code);
        exited.resolve(code);
      },
      ...options,
    });
    // Without throughline's listener the signal would kill the test run: check it is there first.
    assert.equal(process.listenerCount('SIGUSR2'), before + 1);
    return { server, shutdown, lines, codes, exited: exited.promise, before };
  }

  it('a signal-started shutdown calls exit exactly once, with 0, instead of process.exit', async () => {
    const s = await shutdownOnSigusr2({});
    try {
      process.kill(process.pid, 'SIGUSR2');
      assert.equal(await s.exited, 0);
      // terminate() joins the finished run: nothing after it may call exit again.
      const report = await s.shutdown.terminate();
      assert.equal(report.reason, 'SIGUSR2');
      assert.equal(report.exitCode, 0);
      assert.deepEqual(s.codes, [0]);
      assert.equal(s.shutdown.phase(), 'stopped');
      assert.equal(s.server.listening, false);
      assert.equal(s.lines.find((l) => l.signal !== undefined)?.signal, 'SIGUSR2');
    } finally {
      s.shutdown.uninstall();
    }
    assert.equal(process.listenerCount('SIGUSR2'), s.before);
  });

  it("is called with the shutdown's exit code: 1 when a beforeExit hook fails", async () => {
    const s = await shutdownOnSigusr2({
      beforeExit: [
        function closeBrokenPool() {
          throw new Error('pool already closed');
        },
      ],
    });
    try {
      process.kill(process.pid, 'SIGUSR2');
      assert.equal(await s.exited, 1);
      const report = await s.shutdown.terminate();
      assert.deepEqual(report.hooksFailed, ['closeBrokenPool']);
      assert.deepEqual(s.codes, [1]);
    } finally {
      s.shutdown.uninstall();
    }
    assert.equal(process.listenerCount('SIGUSR2'), s.before);
  });

  it('a second signal forces exit(1) once, and the finished shutdown does not call exit again', async () => {
    const s = await shutdownOnSigusr2({ drainDelayMs: 300 });
    try {
      const draining = deferred<void>();
      s.shutdown.onPhase((phase) => {
        if (phase === 'draining') draining.resolve();
      });
      process.kill(process.pid, 'SIGUSR2');
      await draining.promise;
      process.kill(process.pid, 'SIGUSR2');
      assert.equal(await s.exited, 1);
      const report = await s.shutdown.terminate();
      assert.equal(report.exitCode, 0, 'the shutdown itself went fine');
      assert.deepEqual(s.codes, [1], 'the forced exit stays the last word');
    } finally {
      s.shutdown.uninstall();
    }
  });

  it('is not called when terminate() starts the shutdown', async () => {
    const s = await shutdownOnSigusr2({});
    try {
      const report = await s.shutdown.terminate();
      assert.equal(report.exitCode, 0);
      assert.equal(s.shutdown.phase(), 'stopped');
      assert.deepEqual(s.codes, []);
    } finally {
      s.shutdown.uninstall();
    }
    assert.equal(s.server.listening, false);
  });
});
