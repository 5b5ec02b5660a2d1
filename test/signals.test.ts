// Signals and exit codes, in a forked child with a ready handshake: the only
// honest way to test process.exit and signal handlers (STYLE.md, close-with-grace).
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { withoutCoverage } from './helpers/subprocess.js';

const CHILD = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  /** Resolves when the child's log has a line for which `match` is true. */
  logged: (match: (line: ReturnType<Child['logs']>[number]) => boolean) => Promise<void>;
  port: number;
  logs: () => { level: string; msg: string; phase?: string; hook?: string; signal?: string }[];
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

  it('with signals: [] leaves SIGTERM to Node: the process dies of the signal, no phase runs', async () => {
    const child = await start('no-signals');
    child.proc.kill('SIGTERM');
    const [code, signal] = await child.exit;
    assert.deepEqual([code, signal], [null, 'SIGTERM']);
    assert.deepEqual(phasesOf(child), []);
  });
});
