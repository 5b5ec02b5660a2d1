// A cluster worker of the rollout: the demo service, exporting its spans over
// OTLP/HTTP to the primary's receiver and reporting its phases, its in-flight
// requests and its detached jobs over IPC so the primary can draw the timeline.
import { subscribe } from 'node:diagnostics_channel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CHANNELS, type JobEvent } from 'throughline';
import { createLogger } from '../demo/logger.js';
import { startDemoService } from '../demo/service.js';
import type { WorkerMessage } from './protocol.js';

function send(message: WorkerMessage, done?: () => void): void {
  if (process.send === undefined) throw new Error('rollout worker must run under node:cluster');
  process.send(message, undefined, {}, () => done?.());
}

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`rollout worker needs ${name}`);
  return value;
};

const jobs = { started: 0, completed: 0, failed: 0, abandoned: 0 };
// The public diagnostics channel of detached work: counts every job, whatever ends it.
subscribe(CHANNELS.job, (message) => {
  const event = message as JobEvent;
  if (event.type === 'start') jobs.started++;
  // A job refused past maxJobs never started: it is not part of these counts.
  else if (event.outcome !== undefined && event.outcome !== 'rejected') jobs[event.outcome]++;
});

const { server, shutdown } = await startDemoService({
  port: Number(env('ROLLOUT_PORT')),
  host: '127.0.0.1',
  inventoryUrl: env('ROLLOUT_INVENTORY_URL'),
  traceExporter: new OTLPTraceExporter({ url: env('ROLLOUT_OTLP_URL') }),
  logger: createLogger({ level: 'warn' }),
  emailDelayMs: 50,
  shutdown: {
    drainDelayMs: Number(env('ROLLOUT_DRAIN_DELAY_MS')),
    exit: (code: number) => {
      void shutdown.terminate().then((report) => {
        send({ kind: 'exit', code, report, jobs }, () => process.exit(code));
      });
    },
  },
});

let inFlight = 0;
server.on('request', (_req, res) => {
  inFlight++;
  res.on('close', () => inFlight--);
});
const sampler = setInterval(() => send({ kind: 'in-flight', count: inFlight, at: Date.now() }), 200);
sampler.unref();

shutdown.onPhase((phase) => send({ kind: 'phase', phase, at: Date.now() }));
send({ kind: 'ready', pid: process.pid });
