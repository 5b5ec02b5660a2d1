export { traceContext } from './trace-context.js';
export { ERROR_TYPE_ABORTED } from '../../src/telemetry/http-server-metrics.js';
export { TRACE_CONTEXT_DEFAULTS } from './options.js';
export type { TraceContextOptions } from './options.js';
