// One pod of the HAProxy rollout (haproxy-rollout.ts): a plain node process
// using throughline exactly as the README shows, with the exposition on its
// own port (`prometheus: { port }`) so the final scrape has a server that
// stays open until `flushing`. It prints one JSON line when it listens and
// one with its shutdown report before it exits.
import express from 'express';
import { gracefulShutdown, healthRoutes, setupTelemetry, traceContext } from 'throughline';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`rollout pod needs ${name}`);
  return value;
};
const pod = env('POD_NAME');
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const telemetry = setupTelemetry({
  serviceName: 'rollout-pod',
  serviceInstanceId: pod,
  runtimeMetrics: false,
  prometheus: { port: Number(env('POD_METRICS_PORT')), host: '127.0.0.1' },
});
const app = express();
app.use(traceContext());
// Readiness held until the first scrape (POD_HOLD_READY=1): Prometheus's
// first sample of this pod then predates its first request.
const holdReady = process.env.POD_HOLD_READY === '1';
app.use(
  healthRoutes({
    checks: holdReady ? { scraped: () => telemetry.firstScrapeCheck() } : {},
  }),
);
app.get('/work', (_req, res) => {
  res.setHeader('x-pod', pod);
  res.json({ pod });
});
telemetry.declareRoutes(app);

const server = app.listen(Number(env('POD_PORT')), '127.0.0.1', () => print({ kind: 'listening', pod }));
const drainDelayMs = process.env.POD_DRAIN_DELAY_MS === undefined ? {} : { drainDelayMs: Number(process.env.POD_DRAIN_DELAY_MS) };
const shutdown = gracefulShutdown(server, {
  telemetry,
  ...drainDelayMs,
  exit: (code) => {
    void shutdown.terminate().then((report) => {
      print({ kind: 'report', pod, report });
      process.exit(code);
    });
  },
});
