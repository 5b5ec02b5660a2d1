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

/** Default logger: OpenTelemetry diag, silent unless the application set a diag logger. */
export const diagLogger: ShutdownLogger = {
  info: (obj, msg) => diag.info(msg, obj),
  warn: (obj, msg) => diag.warn(msg, obj),
  error: (obj, msg) => diag.error(msg, obj),
};
