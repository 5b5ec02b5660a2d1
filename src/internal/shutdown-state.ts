// How many gracefulShutdown() runs have started in this process. healthRoutes()
// without a `shutdown` option notes the count when it is created and reports
// draining once it grows: readiness follows any shutdown with no wiring, and
// without a diagnostics-channel subscription per healthRoutes() instance that
// nothing could ever remove.
let started = 0;

export function shutdownStarted(): void {
  started++;
}

/** Shutdowns started so far in this process (it only grows). */
export function shutdownsStarted(): number {
  return started;
}
