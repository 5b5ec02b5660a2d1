import {
  expectBoolean,
  expectFunction,
  expectNumber,
  expectOptionsObject,
  invalidOption,
  rejectUnknownKeys,
} from '../internal/validate.js';
import type { WebSocketServerLike } from './connections.js';
import type { FinalScrapeResult } from '../telemetry/scrape-tracker.js';
import { diagLogger, type ShutdownLogger } from './logger.js';

/**
 * What the flushing phase needs from telemetry: `setupTelemetry()`'s handle
 * satisfies it, and so does an OpenTelemetry `NodeSDK` (which has only
 * `shutdown()`) or a provider.
 *
 * @example
 * const telemetry: ShutdownTelemetry = { forceFlush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
 */
export interface ShutdownTelemetry {
  /**
   * Export everything still buffered (batch span processors, metric readers).
   * Optional: a provider's `shutdown()` flushes too, so an object with only
   * `shutdown()` (a `NodeSDK`) is flushed through that.
   */
  forceFlush?(): Promise<void>;
  /** Release exporters and readers; called after `forceFlush()`. */
  shutdown(): Promise<void>;
  /**
   * Wait for a scrape that starts after the call (setupTelemetry()'s handle
   * has it). Optional: without it, flushing does not wait for a scrape.
   */
  awaitFinalScrape?(options: { timeoutMs: number }): Promise<FinalScrapeResult>;
}

/**
 * A cleanup step run in the `hooks` phase (close a pool, stop a queue consumer).
 * `signal` aborts when the hook's `hookTimeoutMs` has passed.
 *
 * @example
 * const closePool: BeforeExitHook = async () => { await pool.end(); };
 */
export type BeforeExitHook = (signal: AbortSignal) => unknown;

/** Options of `gracefulShutdown()`. */
export interface GracefulShutdownOptions {
  /** How long the server keeps serving with readiness at 503 before it stops accepting, so load balancers stop routing first. */
  drainDelayMs?: number;
  /** How long in-flight requests get to finish after the server stops accepting; sockets still busy then are destroyed. */
  closeTimeoutMs?: number;
  /** How long detached jobs get to settle before they are aborted and reported as abandoned. */
  jobsTimeoutMs?: number;
  /** How long each `beforeExit` hook gets (hooks run one after another, in order). */
  hookTimeoutMs?: number;
  /** How long `telemetry.forceFlush()` and `telemetry.shutdown()` get together. */
  flushTimeoutMs?: number;
  /**
   * How long `flushing` waits, before the flush, for a Prometheus scrape that
   * started after the last request was recorded, so its counts are not lost.
   * Covers scrape intervals up to 15 s with room; raise it to your interval
   * plus a few seconds for longer ones (and the grace period with it). 0 does
   * not wait. A process never scraped does not wait either.
   */
  finalScrapeTimeoutMs?: number;
  /** Cleanup hooks for the `hooks` phase, run in order; a failing or slow hook does not stop the others. */
  beforeExit?: readonly BeforeExitHook[];
  /** Telemetry to flush and shut down last (the handle `setupTelemetry()` returns). */
  telemetry?: ShutdownTelemetry;
  /** A pino-compatible logger; default: OpenTelemetry `diag`. */
  logger?: ShutdownLogger;
  /** Signals that start the shutdown; `[]` installs no listener. */
  signals?: readonly NodeJS.Signals[];
  /** Whether a second signal during shutdown exits at once with code 1. */
  forceExitOnSecondSignal?: boolean;
  /** Called with the exit code when a signal-started shutdown ends (or a second signal forces it). */
  exit?: (code: number) => void;
  /**
   * WebSocket servers (`ws`) on this server: when closing starts their clients
   * get close code 1001 and the close handshake, within `closeTimeoutMs`.
   */
  websockets?: WebSocketServerLike | readonly WebSocketServerLike[];
}

/** The defaults of `gracefulShutdown()`; they add up to 48 s (20 s of it the final-scrape wait, only when scraped): docs/kubernetes.md sets a 55 s grace period. */
export const GRACEFUL_SHUTDOWN_DEFAULTS = {
  drainDelayMs: 5_000,
  closeTimeoutMs: 10_000,
  jobsTimeoutMs: 5_000,
  hookTimeoutMs: 3_000,
  flushTimeoutMs: 5_000,
  finalScrapeTimeoutMs: 20_000,
  signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
  forceExitOnSecondSignal: true,
} as const;

export interface ResolvedShutdownOptions {
  readonly drainDelayMs: number;
  readonly closeTimeoutMs: number;
  readonly jobsTimeoutMs: number;
  readonly hookTimeoutMs: number;
  readonly flushTimeoutMs: number;
  readonly finalScrapeTimeoutMs: number;
  readonly beforeExit: readonly BeforeExitHook[];
  readonly telemetry: ShutdownTelemetry | undefined;
  readonly logger: ShutdownLogger;
  readonly signals: readonly NodeJS.Signals[];
  readonly forceExitOnSecondSignal: boolean;
  readonly exit: (code: number) => void;
  readonly websockets: readonly WebSocketServerLike[];
}

const KNOWN = [
  'drainDelayMs',
  'closeTimeoutMs',
  'jobsTimeoutMs',
  'hookTimeoutMs',
  'flushTimeoutMs',
  'finalScrapeTimeoutMs',
  'beforeExit',
  'telemetry',
  'logger',
  'signals',
  'forceExitOnSecondSignal',
  'exit',
  'websockets',
] as const;

function resolveWebsockets(value: unknown): WebSocketServerLike[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  list.forEach((wss, i) => {
    const clients = (wss as { clients?: unknown } | null)?.clients;
    if (clients === null || typeof clients !== 'object' || typeof (clients as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      const name = Array.isArray(value) ? `websockets[${i}]` : 'websockets';
      throw invalidOption(name, 'a WebSocket server with a `clients` Set (ws WebSocketServer with clientTracking)', wss);
    }
  });
  return list as WebSocketServerLike[];
}

export function resolveShutdownOptions(input: unknown): ResolvedShutdownOptions {
  const raw = expectOptionsObject('options', input);
  rejectUnknownKeys('gracefulShutdown', raw, KNOWN);
  const merged = { ...GRACEFUL_SHUTDOWN_DEFAULTS, ...raw } as Record<string, unknown>;
  const beforeExit = merged.beforeExit ?? [];
  if (!Array.isArray(beforeExit)) throw invalidOption('beforeExit', 'an array of functions', beforeExit);
  beforeExit.forEach((hook, i) => expectFunction(`beforeExit[${i}]`, hook));
  const telemetry = merged.telemetry;
  const t = telemetry as Partial<ShutdownTelemetry> | null | undefined;
  if (t !== undefined && (t === null || typeof t.shutdown !== 'function' || (t.forceFlush !== undefined && typeof t.forceFlush !== 'function') || (t.awaitFinalScrape !== undefined && typeof t.awaitFinalScrape !== 'function'))) {
    throw invalidOption('telemetry', 'an object with shutdown() and, optionally, forceFlush()', telemetry);
  }
  const logger = merged.logger ?? diagLogger;
  for (const level of ['info', 'warn', 'error'] as const) {
    if (logger === null || typeof (logger as ShutdownLogger)[level] !== 'function') {
      throw invalidOption('logger', 'a logger with info(), warn() and error()', logger);
    }
  }
  const signals = merged.signals;
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))) {
    throw invalidOption('signals', 'an array of signal names such as "SIGTERM"', signals);
  }
  return {
    drainDelayMs: expectNumber('drainDelayMs', merged.drainDelayMs),
    closeTimeoutMs: expectNumber('closeTimeoutMs', merged.closeTimeoutMs),
    jobsTimeoutMs: expectNumber('jobsTimeoutMs', merged.jobsTimeoutMs),
    hookTimeoutMs: expectNumber('hookTimeoutMs', merged.hookTimeoutMs),
    flushTimeoutMs: expectNumber('flushTimeoutMs', merged.flushTimeoutMs),
    finalScrapeTimeoutMs: expectNumber('finalScrapeTimeoutMs', merged.finalScrapeTimeoutMs),
    beforeExit: beforeExit as BeforeExitHook[],
    telemetry: telemetry as ShutdownTelemetry | undefined,
    logger: logger as ShutdownLogger,
    signals: signals as NodeJS.Signals[],
    forceExitOnSecondSignal: expectBoolean('forceExitOnSecondSignal', merged.forceExitOnSecondSignal),
    websockets: resolveWebsockets(merged.websockets),
    exit: merged.exit === undefined ? (code) => process.exit(code) : expectFunction<(code: number) => void>('exit', merged.exit),
  };
}
