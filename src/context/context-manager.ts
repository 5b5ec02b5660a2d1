import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

const PROBE_KEY = createContextKey('throughline.probe');

/**
 * True when the globally registered context manager really carries values
 * through `context.with()`. The API's default (no-op) manager always answers
 * ROOT_CONTEXT, which is exactly the "everything becomes an orphan root"
 * failure this library exists to prevent.
 */
export function hasWorkingContextManager(): boolean {
  return context.with(ROOT_CONTEXT.setValue(PROBE_KEY, true), () => context.active().getValue(PROBE_KEY) === true);
}

/**
 * Registers the AsyncLocalStorage context manager unless a working one is
 * already registered (an OpenTelemetry NodeSDK, or an earlier call). Safe to
 * call any number of times. Returns true when this call registered one.
 */
export function ensureContextManager(): boolean {
  if (hasWorkingContextManager()) return false;
  return context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}
