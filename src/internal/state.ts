// All of throughline's process-wide mutable state, in one place. Modules read
// it through processState() on every use (never keep the object: the testing
// reset replaces it), and nothing else in src/ or middleware/ may hold
// mutable module-level state (eslint.config.js enforces it). Telemetry reads
// this state when it collects rather than being told of events, so the order
// in which setupTelemetry(), gracefulShutdown() and the first jobs happen
// does not change what the metrics say.
import type { MeterProvider, TextMapPropagator } from '@opentelemetry/api';
import type { HttpServerInstruments } from '../telemetry/http-server-metrics.js';
import { createJobRegistry, DETACHED_DEFAULTS, type JobRegistry } from '../detached/job-registry.js';
import { createShutdownRegistry, type ShutdownRegistry } from '../lifecycle/shutdown-registry.js';

export interface ProcessState {
  /** Detached jobs running and how the others ended. */
  readonly jobs: JobRegistry;
  /** Every gracefulShutdown() and how many have started. */
  readonly shutdowns: ShutdownRegistry;
  /** The probe paths of every healthRoutes(), which traceContext()'s default `ignore` skips. */
  readonly probePaths: Set<string>;
  /** The propagator used while none is registered globally (created on first use). */
  fallbackPropagator: TextMapPropagator | undefined;
  /** Meter providers carrying the lifecycle instruments, with the function that removes them. */
  readonly lifecycleMeters: Map<MeterProvider, () => void>;
  /** Express apps whose router layers were inspected (one patch per Layer class). */
  readonly patchedApps: WeakSet<object>;
  /** What undoes each patch installed on foreign objects, run by the reset. */
  readonly undo: (() => void)[];
  /** The handle of the setupTelemetry() in force (one per process). */
  telemetry: object | undefined;
  /** traceContext()'s HTTP instruments, per meter provider. */
  readonly httpInstruments: WeakMap<MeterProvider, HttpServerInstruments>;
  /** Random bytes for ids nobody records, sliced instead of drawn per id (src/internal/random-ids.ts). */
  readonly idPool: { readonly bytes: Buffer; offset: number };
  /** The last Host header parsed: a service sees the same few over and over. */
  lastHost: { host: string; scheme: string; parsed: [string, number] | undefined } | undefined;
  /** The diag logger setupTelemetry() registered while the application had none (src/internal/stderr-diag.ts). */
  stderrDiag: unknown;
  /** Node's own `clearIncoming` 'end' listener, once seen (middleware/trace-context/emit-in.ts). */
  nodeClearIncoming: ((...args: unknown[]) => unknown) | undefined;
}

/** Size of the id pool: refilled with one randomFillSync every few hundred ids. */
const ID_POOL_BYTES = 16 * 1024;

function createProcessState(): ProcessState {
  return {
    jobs: createJobRegistry(DETACHED_DEFAULTS.maxJobs),
    shutdowns: createShutdownRegistry(),
    probePaths: new Set(),
    fallbackPropagator: undefined,
    lifecycleMeters: new Map(),
    patchedApps: new WeakSet(),
    undo: [],
    telemetry: undefined,
    httpInstruments: new WeakMap(),
    idPool: { bytes: Buffer.allocUnsafe(ID_POOL_BYTES), offset: ID_POOL_BYTES },
    lastHost: undefined,
    stderrDiag: undefined,
    nodeClearIncoming: undefined,
  };
}

let state = createProcessState();

/** The process's throughline state. Read it on every use; do not keep it. */
export function processState(): ProcessState {
  return state;
}

/**
 * Puts throughline back as it was at import: aborts detached jobs still
 * running, uninstalls every gracefulShutdown() (signal and server listeners),
 * removes the lifecycle instruments, undoes the Express layer patch, and
 * forgets probe paths and the fallback propagator. For tests; exported from
 * `throughline/testing`.
 */
export function resetProcessState(): void {
  const old = state;
  state = createProcessState();
  old.jobs.abortAll(new Error('throughline: reset by resetState()'));
  for (const entry of [...old.shutdowns.entries()]) entry.uninstall();
  for (const remove of old.lifecycleMeters.values()) remove();
  for (const undo of old.undo.splice(0).reverse()) undo();
}
