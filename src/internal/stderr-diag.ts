// OpenTelemetry reports its own failures through `diag`, and with no diag
// logger registered (a NodeSDK registers none unless told to) `diag` prints
// nothing: a refused second registration of the global providers, an export
// that failed. setupTelemetry() therefore registers an error-level logger that
// writes JSON lines to stderr while the application has none, and removes it
// at its shutdown. A diag logger the application registers, before or after,
// replaces it.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { processState } from './state.js';

// Where @opentelemetry/api 1.x keeps its globals (the diag logger among them).
// The key is the API's cross-copy contract, fixed for the whole major version;
// the API has no public "is a diag logger set?" call.
const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** The process warning code of a second SDK whose global registration was refused. */
export const WARNING_SECOND_SDK = 'THROUGHLINE_SECOND_SDK';

const DUPLICATE_REGISTRATION = /Attempted duplicate registration of API: (\w+)/;

function registeredDiag(): unknown {
  return (globalThis as Record<symbol, { diag?: unknown } | undefined>)[OTEL_API_GLOBAL]?.diag;
}

/** True when the application registered a diag logger (throughline's own stderr one does not count). */
export function appDiagLoggerRegistered(): boolean {
  const registered = registeredDiag();
  return registered !== undefined && registered !== processState().stderrDiag;
}

// JSON.stringify turns an Error into `{}`: keep what a reader needs.
function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return value;
}

/** One JSON line on stderr: `{ level, time, msg, ...obj }`. */
export function stderrLine(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
  // process.stderr is synchronous for files, pipes and terminals on Linux and
  // macOS, so the line is written before a process.exit() that follows.
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), msg, ...obj }, replaceErrors)}\n`);
}

function describeArgs(args: unknown[]): object {
  return args.length === 0 ? {} : { details: args.map((a) => (a instanceof Error ? a : String(a))) };
}

/** A diag logger that writes errors to stderr and turns a refused registration into one process warning. */
function createStderrDiagLogger(): DiagLogger {
  let warned = false;
  const quiet = () => {};
  return {
    error(message: string, ...args: unknown[]) {
      const duplicate = DUPLICATE_REGISTRATION.exec(message);
      if (duplicate === null) {
        stderrLine('error', describeArgs(args), `opentelemetry: ${message}`);
        return;
      }
      // The API refuses a second global provider and says so only here: the
      // second SDK's exporters then receive nothing, and nobody notices.
      const text =
        `throughline: setupTelemetry() registered OpenTelemetry's global ${duplicate[1]} first, so a second SDK ` +
        '(an OpenTelemetry NodeSDK started after setupTelemetry()?) could not register its own and its exporters get nothing. ' +
        'Use one of them: start the NodeSDK first and do not call setupTelemetry(), or do not start the NodeSDK.';
      stderrLine('error', { registration: message }, text);
      if (warned) return;
      warned = true;
      process.emitWarning(text, { code: WARNING_SECOND_SDK });
    },
    warn: quiet,
    info: quiet,
    debug: quiet,
    verbose: quiet,
  };
}

/**
 * Registers the stderr diag logger unless a diag logger is already
 * registered. Returns what removes it again (a no-op when it was not
 * installed, or when another logger has replaced it since).
 *
 * @example
 * const uninstall = installStderrDiag();
 * uninstall();
 */
export function installStderrDiag(): () => void {
  if (registeredDiag() !== undefined) return () => {};
  diag.setLogger(createStderrDiagLogger(), { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true });
  const installed = registeredDiag();
  const state = processState();
  state.stderrDiag = installed;
  const uninstall = () => {
    if (registeredDiag() === installed) diag.disable();
    if (state.stderrDiag === installed) state.stderrDiag = undefined;
  };
  state.undo.push(uninstall);
  return uninstall;
}
