// One instrumentation scope for every span and metric throughline records.
export const TRACER_NAME = 'throughline';
export const TRACER_VERSION = '0.1.0';
