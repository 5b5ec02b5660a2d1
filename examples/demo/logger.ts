// pino with the active trace ids mixed into every line: a log line written
// anywhere in a request (or in its background work) carries its trace_id.
import { pino, type Logger } from 'pino';
import { logFields } from 'throughline';

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ name: options.name ?? 'orders', level: options.level ?? 'info', mixin: () => ({ ...logFields() }) });
}
