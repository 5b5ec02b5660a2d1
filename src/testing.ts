// `throughline/testing`: for test suites, never for production code.
import { resetProcessState } from './internal/state.js';

/**
 * Puts throughline back as it was at import, so tests do not leak into each
 * other: aborts detached jobs still running, uninstalls every
 * `gracefulShutdown()` (its signal and server listeners), removes the
 * lifecycle instruments from their meter providers, undoes the Express layer
 * patch, and forgets `healthRoutes()` probe paths and the fallback propagator.
 * OpenTelemetry's own globals (providers, propagator, context manager) are
 * the caller's: disable them with the API (`trace.disable()` and so on).
 *
 * @example
 * import { resetState } from 'throughline/testing';
 * afterEach(() => resetState());
 */
export function resetState(): void {
  resetProcessState();
}
