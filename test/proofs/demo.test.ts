// The demo `npm start` runs, as a user runs it: a child process on real ports,
// driven over HTTP, stopped with SIGTERM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withoutCoverage } from '../helpers/subprocess.js';

const MAIN = fileURLToPath(new URL('../../examples/demo/main.ts', import.meta.url));
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

interface SpanLine {
  name: string;
  kind: string;
  spanId: string;
  parentSpanId: string | null;
}

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the demo service (npm start)', function () {
  this.timeout(60_000);
  let child: ChildProcess;
  let out = '';
  let url: string;

  before(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: withoutCoverage({ ...process.env, PORT: '0', DRAIN_DELAY_MS: '300' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => (out += chunk));
    url = await until('the demo to print its URL', 30_000, () => Promise.resolve(/orders service on (http:\/\/\S+),/.exec(out)?.[1]));
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('takes an order on the incoming trace: six spans across both services, parents intact, logs on the trace', async () => {
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${PARENT}-01` },
      body: JSON.stringify({ sku: 'sku-1', quantity: 2 }),
    });
    assert.equal(res.status, 201);
    const order = (await res.json()) as { id: string; traceId: string };
    assert.equal(order.traceId, TRACE_ID);

    // The batch processor exports every 5 s: poll the demo's trace view.
    let tree: string[] = [];
    const spans = await until('the six spans of the order', 20_000, async () => {
      const view = await fetch(`${url}/debug/traces/${TRACE_ID}`);
      if (view.status !== 200) return undefined;
      const body = (await view.json()) as { spans: SpanLine[]; tree: string[] };
      return body.spans.length >= 6 ? body : undefined;
    }).then((body) => {
      tree = body.tree;
      return body.spans;
    });
    const byName = new Map(spans.map((s) => [s.name, s]));
    // Children in the order they ended, so compare the tree's shape, not its order.
    assert.deepEqual(tree.map((line) => line.replace(/ \(.*\)$/, '')).sort(), [
      '    GET /inventory/:sku',
      '    process fulfilment',
      '  GET',
      '  create fulfilment',
      '  send-confirmation',
      'POST /orders',
    ]);
    assert.match(tree[0]!, /^POST \/orders \(SERVER, [\d.]+ ms\)$/);
    assert.deepEqual([...byName.keys()].sort(), [
      'GET',
      'GET /inventory/:sku',
      'POST /orders',
      'create fulfilment',
      'process fulfilment',
      'send-confirmation',
    ]);
    const parentOf = (name: string) => byName.get(name)!.parentSpanId;
    const idOf = (name: string) => byName.get(name)!.spanId;
    assert.equal(parentOf('POST /orders'), PARENT);
    assert.equal(parentOf('GET'), idOf('POST /orders'));
    assert.equal(parentOf('GET /inventory/:sku'), idOf('GET'));
    assert.equal(parentOf('send-confirmation'), idOf('POST /orders'));
    assert.equal(parentOf('create fulfilment'), idOf('POST /orders'));
    assert.equal(parentOf('process fulfilment'), idOf('create fulfilment'));
    assert.deepEqual(Object.fromEntries(spans.map((s) => [s.name, s.kind])), {
      'POST /orders': 'SERVER',
      GET: 'CLIENT',
      'GET /inventory/:sku': 'SERVER',
      'create fulfilment': 'PRODUCER',
      'process fulfilment': 'CONSUMER',
      'send-confirmation': 'INTERNAL',
    });

    const logs = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; trace_id?: string; span_id?: string; orderId?: string })
      .filter((line) => line.orderId === order.id);
    const spanOfLog = new Map(logs.map((l) => [l.msg, l]));
    assert.equal(spanOfLog.get('order created')?.trace_id, TRACE_ID);
    assert.equal(spanOfLog.get('order created')?.span_id, idOf('POST /orders'));
    assert.equal(spanOfLog.get('confirmation sent')?.span_id, idOf('send-confirmation'));
    assert.equal(spanOfLog.get('order sent to fulfilment')?.span_id, idOf('process fulfilment'));
  });

  it('answers 400 to a bad body and 404 to an unknown order, and serves probes and metrics', async () => {
    const bad = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":1}' });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${url}/orders/nope`)).status, 404);
    assert.equal((await fetch(`${url}/debug/traces/not-a-trace`)).status, 400);
    const unknown = await fetch(`${url}/debug/traces/${'0'.repeat(31)}1`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /trace flags 00/);
    const ready = await fetch(`${url}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: Record<string, { status: string }> }).checks['inventory']?.status, 'pass');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^http_server_request_duration_seconds_count\{[^}]*http_request_method="POST"[^}]*http_response_status_code="201"[^}]*\} 1$/m);
    assert.match(metrics, /^http_server_request_duration_seconds_count\{[^}]*http_response_status_code="400"[^}]*\} 1$/m);
  });

  it('shuts down on SIGTERM through every phase and exits 0', async () => {
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    child.kill('SIGTERM');
    // The demo was scraped, so flushing waits for a scrape after its last
    // request: this is it, served on the app port by a metrics-only listener.
    await until('the flushing phase', 20_000, () => Promise.resolve(out.includes('"phase":"flushing"') || undefined));
    const final = await (await fetch(`${url}/metrics`)).text();
    assert.match(final, /^http_server_request_duration_seconds_count\{[^}]*http_response_status_code="201"[^}]*\} 1$/m);
    assert.match(final, /^throughline_shutdown_final_scrape\{[^}]*throughline_final_scrape_result="seen"[^}]*\} 1$/m);
    const [code] = await exited;
    assert.equal(code, 0);
    const phases = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { phase?: string })
      .flatMap((line) => (line.phase === undefined ? [] : [line.phase]));
    assert.deepEqual(phases, ['draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped']);
  });
});

describe('npm start and SIGTERM', function () {
  this.timeout(60_000);

  it('npm passes SIGTERM on to the demo (the script execs node): the demo shuts down and npm exits 0', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    // --ignore-scripts skips prestart's build (the suite runs on a built tree); the start script itself still runs.
    const npm = spawn('npm', ['run', 'start', '--ignore-scripts'], {
      cwd: root,
      env: withoutCoverage({ ...process.env, PORT: '0', DRAIN_DELAY_MS: '100' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    npm.stdout.setEncoding('utf8');
    npm.stdout.on('data', (chunk: string) => (out += chunk));
    const exited = once(npm, 'exit') as Promise<[number | null, string | null]>;
    let demoPid: number | undefined;
    try {
      await until('the demo to print its URL', 30_000, () => Promise.resolve(/orders service on (http:\/\/\S+),/.exec(out)?.[1]));
      // With `exec`, node replaced the shell: the demo is npm's own child.
      const children = childrenOf(npm.pid!);
      assert.equal(children.length, 1, `npm has one child process, got ${children.join(', ')}`);
      const pid = children[0]!;
      demoPid = pid;
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^node\0.*examples\/demo\/main\.ts/);
      npm.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
      assert.match(out, /"reason":"SIGTERM"/);
      assert.match(out, /throughline: shutdown complete/);
      // The demo is gone with npm, not reparented and still serving.
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    } finally {
      // A failed run must not leave a demo serving: its whole tree goes.
      const tree = npm.exitCode === null ? descendantsOf(npm.pid!) : [];
      if (npm.exitCode === null) npm.kill('SIGKILL');
      for (const pid of demoPid === undefined ? tree : [...tree, demoPid]) killQuietly(pid);
    }
  });
});

/** The pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
        return Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((child) => [child, ...descendantsOf(child)]);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone: what the test wants
  }
}
