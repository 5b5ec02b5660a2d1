export { traceContext, ERROR_TYPE_ABORTED } from './trace-context.js';
export { TRACE_CONTEXT_DEFAULTS } from './options.js';
export type { TraceContextOptions } from './options.js';
