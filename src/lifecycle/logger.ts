import { diag } from '@opentelemetry/api';
import { appDiagLoggerRegistered, stderrLine } from '../internal/stderr-diag.js';

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

/**
 * Default logger: through OpenTelemetry `diag` when the application registered
 * a diag logger (`diag.setLogger()`, its level applies; setupTelemetry()'s own
 * error-level one does not count), otherwise one JSON line
 * per event on stderr, so a shutdown that exits 1 always says which phase
 * timed out. Decided at every call: a diag logger set later is used from then on.
 */
export const diagLogger: ShutdownLogger = {
  info: (obj, msg) => (appDiagLoggerRegistered() ? diag.info(msg, obj) : stderrLine('info', obj, msg)),
  warn: (obj, msg) => (appDiagLoggerRegistered() ? diag.warn(msg, obj) : stderrLine('warn', obj, msg)),
  error: (obj, msg) => (appDiagLoggerRegistered() ? diag.error(msg, obj) : stderrLine('error', obj, msg)),
};
