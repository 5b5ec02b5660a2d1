// Node emits req's 'data'/'end'/'close' (body parsers resume the chain from
// them) and res's 'finish'/'close' from socket callbacks, in the socket's
// async context, not the request's (no trace at all, or an earlier request's
// when the socket was created inside one). Running the emitter's emit() in the
// request's context puts every listener there, whenever it was added. It
// costs one property and one closure; the API's context.bind(ctx, emitter) on
// both wraps six methods each and keeps listener maps, and measured about
// 10 µs a request more (bench/findings.md).
import { context, type Context } from '@opentelemetry/api';
import type { EventEmitter } from 'node:events';
import { processState } from '../../src/internal/state.js';

type Emit = (this: EventEmitter, event: string | symbol, ...args: unknown[]) => boolean;

/** Makes every later `emitter.emit()` run its listeners in `ctx`. */
export function emitIn(ctx: Context, emitter: EventEmitter): void {
  const emit = (emitter as { emit: Emit }).emit;
  emitter.emit = function emitInRequestContext(this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    // Entering a context costs a new async context frame: skip it for events
    // nobody listens to, for those already emitted in the request's context,
    // and for an 'end' only Node itself listens to.
    const listeners = this.listenerCount(event);
    if (listeners === 0 || context.active() === ctx || (listeners === 1 && event === 'end' && isNodeClearIncoming(this.rawListeners('end')[0]))) {
      return emit.call(this, event, ...args);
    }
    return context.with(ctx, () => emit.call(this, event, ...args));
  };
}

// When a response finishes before its request was read to the end (every GET
// whose empty body nobody read), Node's resOnFinish() (lib/_http_server.js)
// adds its own `clearIncoming` to the request's 'end', which then comes from
// the socket in a later tick, outside the request's context on Node 22 and 24
// (Node 26 emits it in the context that resumed the request, so the wrapper
// already passed it through there): the wrapper entered the context for that
// listener alone on 100 of 100 bench requests.
// It only lets the parser drop the request (`parser.incoming = null`), runs no
// code of the application's and needs no context, so it runs where Node emits
// it. Measured with `npm run bench:instructions -- --only=throughline-context`
// (Node 24.21, 2 runs each): 254,754 and 254,631 instructions a request
// before, 251,356 and 251,510 after (bench/findings.md, 2026-12-03, evening).

/**
 * Whether `listener` is Node's own `clearIncoming`. Recognised once by its
 * name and its body, then by identity, so an application's function of the
 * same name still runs in the request's context.
 */
export function isNodeClearIncoming(listener: unknown): boolean {
  const state = processState();
  if (state.nodeClearIncoming !== undefined) return listener === state.nodeClearIncoming;
  if (
    typeof listener !== 'function' ||
    listener.name !== 'clearIncoming' ||
    !Function.prototype.toString.call(listener).includes('parser.incoming')
  ) {
    return false;
  }
  state.nodeClearIncoming = listener as (...args: unknown[]) => unknown;
  return true;
}
