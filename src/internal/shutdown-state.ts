// How many gracefulShutdown() runs are between `draining` and `stopped` in
// this process. healthRoutes() without a `shutdown` option reads it, so that
// readiness follows any shutdown with no wiring and without a subscription
// per healthRoutes() instance that nothing could ever remove.
let inProgress = 0;

export function shutdownStarted(): void {
  inProgress++;
}

export function shutdownEnded(): void {
  inProgress = Math.max(0, inProgress - 1);
}

/** True while any gracefulShutdown() in the process is draining or later, until it stops. */
export function anyShutdownInProgress(): boolean {
  return inProgress > 0;
}
