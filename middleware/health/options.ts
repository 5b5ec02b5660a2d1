import type { HealthCheck } from '../../src/health/check-runner.js';
import type { PhaseSource } from '../../src/health/readiness.js';
import {
  expectBoolean,
  expectFunction,
  expectNumber,
  expectOptionsObject,
  expectString,
  invalidOption,
  rejectUnknownKeys,
} from '../../src/internal/validate.js';

/** Options of {@link healthRoutes}. Every field is optional. */
export interface HealthRoutesOptions {
  /**
   * Path prefix of the three probes: `${prefix}/live`, `${prefix}/ready`, `${prefix}/startup`.
   * @default '/health'
   */
  prefix?: string;
  /** Readiness checks by name, run concurrently on every `/ready` probe. */
  checks?: Readonly<Record<string, HealthCheck>>;
  /**
   * How long each check gets before it counts as failed (`timeout`).
   * @default 1000
   */
  timeoutMs?: number;
  /**
   * Whether error messages of failed checks go into the response body.
   * @default false
   */
  verbose?: boolean;
  /**
   * Whether the service has finished starting (warm caches, migrations); `/startup`
   * and `/ready` answer 503 until it returns true.
   * @default () => true
   */
  started?: () => boolean;
  /**
   * The `gracefulShutdown()` handle to follow. Without it, readiness follows
   * every `gracefulShutdown()` in the process that starts after `healthRoutes()` was created.
   */
  shutdown?: PhaseSource;
}

/** The defaults of {@link HealthRoutesOptions}, merged as `{ ...HEALTH_ROUTES_DEFAULTS, ...options }`. */
export const HEALTH_ROUTES_DEFAULTS = {
  prefix: '/health',
  timeoutMs: 1_000,
  verbose: false,
} as const satisfies HealthRoutesOptions;

export interface ResolvedHealthRoutesOptions {
  readonly prefix: string;
  readonly checks: Readonly<Record<string, HealthCheck>>;
  readonly timeoutMs: number;
  readonly verbose: boolean;
  readonly started: () => boolean;
  readonly shutdown: PhaseSource | undefined;
}

const KNOWN = ['prefix', 'checks', 'timeoutMs', 'verbose', 'started', 'shutdown'] as const;

export function resolveHealthRoutesOptions(input: unknown): ResolvedHealthRoutesOptions {
  const raw = expectOptionsObject('options', input);
  rejectUnknownKeys('healthRoutes', raw, KNOWN);
  const merged = { ...HEALTH_ROUTES_DEFAULTS, ...raw } as Record<string, unknown>;
  const prefix = expectString('prefix', merged.prefix, { allowEmpty: true });
  if (prefix !== '' && (!prefix.startsWith('/') || prefix.endsWith('/'))) {
    throw invalidOption('prefix', 'a path starting with "/" and not ending with "/" (or "")', prefix);
  }
  const checks = expectOptionsObject('checks', merged.checks);
  for (const [name, check] of Object.entries(checks)) expectFunction(`checks.${name}`, check);
  const shutdown = merged.shutdown;
  if (shutdown !== undefined && (shutdown === null || typeof (shutdown as PhaseSource).phase !== 'function')) {
    throw invalidOption('shutdown', 'the handle gracefulShutdown() returns', shutdown);
  }
  return {
    prefix,
    checks: checks as Record<string, HealthCheck>,
    timeoutMs: expectNumber('timeoutMs', merged.timeoutMs),
    verbose: expectBoolean('verbose', merged.verbose),
    started: merged.started === undefined ? () => true : expectFunction<() => boolean>('started', merged.started),
    shutdown: shutdown as PhaseSource | undefined,
  };
}
