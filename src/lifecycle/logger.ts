import { diag } from '@opentelemetry/api';

/**
 * The logger shape `gracefulShutdown()` writes to: pino's `(obj, msg)` call
 * form, so a pino (or pino-compatible) logger can be passed as is.
 *
 * @example
 * gracefulShutdown(server, { logger: pino() });
 */
export interface ShutdownLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

// Where @opentelemetry/api 1.x keeps its globals (the diag logger among them).
// The key is the API's cross-copy contract, fixed for the whole major version;
// the API has no public "is a diag logger set?" call.
const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

function diagLoggerRegistered(): boolean {
  const api = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[OTEL_API_GLOBAL];
  return api?.diag !== undefined;
}

// JSON.stringify turns an Error into `{}`: keep what a reader needs.
function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return value;
}

function stderrLine(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
  // process.stderr is synchronous for files, pipes and terminals on Linux and
  // macOS, so the line is written before the process.exit() that follows the report.
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), msg, ...obj }, replaceErrors)}\n`);
}

/**
 * Default logger: through OpenTelemetry `diag` when the application registered
 * a diag logger (`diag.setLogger()`, its level applies), otherwise one JSON line
 * per event on stderr, so a shutdown that exits 1 always says which phase
 * timed out. Decided at every call: a diag logger set later is used from then on.
 */
export const diagLogger: ShutdownLogger = {
  info: (obj, msg) => (diagLoggerRegistered() ? diag.info(msg, obj) : stderrLine('info', obj, msg)),
  warn: (obj, msg) => (diagLoggerRegistered() ? diag.warn(msg, obj) : stderrLine('warn', obj, msg)),
  error: (obj, msg) => (diagLoggerRegistered() ? diag.error(msg, obj) : stderrLine('error', obj, msg)),
};
