import { processState } from '../internal/state.js';

/**
 * An AbortSignal that aborts when a `gracefulShutdown()` of the process
 * enters `closing`: long-lived responses (Server-Sent Events, streaming
 * downloads, long polls) listen to it and end their response, so the client
 * sees the stream end cleanly instead of a reset at `closeTimeoutMs`. Read it
 * per request: already aborted when the request arrives during closing.
 *
 * @example
 * app.get('/events', (req, res) => {
 *   res.writeHead(200, { 'content-type': 'text/event-stream' });
 *   const tick = setInterval(() => res.write('data: tick\n\n'), 1000);
 *   const end = () => { clearInterval(tick); res.end(); };
 *   const signal = shutdownSignal();
 *   if (signal.aborted) end();
 *   else signal.addEventListener('abort', end, { once: true });
 *   res.on('close', () => { clearInterval(tick); signal.removeEventListener('abort', end); });
 * });
 */
export function shutdownSignal(): AbortSignal {
  return processState().shutdowns.closingSignal();
}
