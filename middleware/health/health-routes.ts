import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCheckRunner, type CheckResult } from '../../src/health/check-runner.js';
import { watchShutdown } from '../../src/health/readiness.js';
import { processState } from '../../src/internal/state.js';
import { ensureLifecycleMetrics } from '../../src/telemetry/lifecycle-metrics.js';
import { resolveHealthRoutesOptions, type HealthRoutesOptions } from './options.js';

/** The JSON body of every probe response. */
export interface HealthBody {
  readonly status: 'ok' | 'starting' | 'draining' | 'failing';
  readonly checks: Readonly<Record<string, CheckResult>>;
}

function send(res: ServerResponse, code: number, body: HealthBody, head: boolean): void {
  const json = JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  // Probes must never be cached by a proxy between the kubelet and the pod.
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(json));
  res.end(head ? undefined : json);
}

/**
 * Express middleware serving the Kubernetes probes: `/health/live` (200 while
 * the process runs, draining included, so Kubernetes does not kill a pod that
 * is shutting down on purpose), `/health/startup` (200 once `started()`), and
 * `/health/ready` (200 only when started, not shutting down and every check
 * passes within `timeoutMs`; otherwise 503). Readiness turns 503 the moment a
 * `gracefulShutdown()` enters `draining`. Other paths go to `next()`.
 *
 * @example
 * app.use(healthRoutes({ checks: { db: () => pool.query('select 1') } }));
 */
export function healthRoutes(options?: HealthRoutesOptions) {
  const opts = resolveHealthRoutesOptions(options);
  ensureLifecycleMetrics();
  const runChecks = createCheckRunner(opts.checks, opts.timeoutMs);
  const shutdown = watchShutdown(opts.shutdown);
  const paths = new Map<string, 'live' | 'ready' | 'startup'>([
    [`${opts.prefix}/live`, 'live'],
    [`${opts.prefix}/ready`, 'ready'],
    [`${opts.prefix}/startup`, 'startup'],
  ]);
  for (const path of paths.keys()) processState().probePaths.add(path);

  function hide(checks: Readonly<Record<string, CheckResult>>): Record<string, CheckResult> {
    const out: Record<string, CheckResult> = {};
    for (const [name, { status, durationMs, error }] of Object.entries(checks)) {
      out[name] = opts.verbose && error !== undefined ? { status, durationMs, error } : { status, durationMs };
    }
    return out;
  }

  async function ready(res: ServerResponse, head: boolean): Promise<void> {
    if (shutdown.shuttingDown()) return send(res, 503, { status: 'draining', checks: {} }, head);
    if (!safeStarted()) return send(res, 503, { status: 'starting', checks: {} }, head);
    const run = await runChecks();
    // Re-read: draining may have begun while the checks ran.
    if (shutdown.shuttingDown()) return send(res, 503, { status: 'draining', checks: hide(run.checks) }, head);
    send(res, run.ok ? 200 : 503, { status: run.ok ? 'ok' : 'failing', checks: hide(run.checks) }, head);
  }

  function safeStarted(): boolean {
    try {
      return opts.started() === true;
    } catch {
      return false;
    }
  }

  return function healthRoutes(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const probe = paths.get(q === -1 ? url : url.slice(0, q));
    if (!probe) return next();
    const head = req.method === 'HEAD';
    if (probe === 'live') return send(res, 200, { status: shutdown.shuttingDown() ? 'draining' : 'ok', checks: {} }, head);
    if (probe === 'startup') {
      const started = safeStarted();
      return send(res, started ? 200 : 503, { status: started ? 'ok' : 'starting', checks: {} }, head);
    }
    ready(res, head).catch(next);
  };
}
