import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Request and socket bookkeeping the shutdown report needs (http-terminator keeps no counts). */
export interface ConnectionTracker {
  /** Requests whose response has not finished yet. */
  inFlight(): number;
  /**
   * Draining began: count arriving requests and answer every response with
   * `Connection: close`, in flight ones included when their headers are not sent.
   */
  startDraining(): void;
  /** Requests that arrived since `startCounting()`. */
  counted(): number;
  /** Closing began: from now on a socket closing under an unfinished response counts as cut. */
  startClosing(): void;
  /** Sockets that closed during closing while their response was unfinished: cut requests. */
  destroyedBusy(): number;
  /**
   * Resolves when every connection that has not sent its first request yet
   * has sent it or closed, or after `timeoutMs`.
   */
  firstRequests(timeoutMs: number): Promise<void>;
  /** Resolves when no response is unfinished (finished, or its socket closed), or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  /** Open connections now, and those with a response in flight (what the connection metric reads). */
  counts(): { open: number; active: number };
  /** Remove the server listeners. */
  dispose(): void;
}

/**
 * Resolves when the function handed to `install` is called, or after
 * `timeoutMs`; then uninstalls it (`install(undefined)`) and clears the timer.
 */
async function untilCalled(timeoutMs: number, install: (wake: (() => void) | undefined) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve) => {
      install(resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
  } finally {
    install(undefined);
    clearTimeout(timer);
  }
}

export function trackConnections(server: Server): ConnectionTracker {
  const active = new Set<ServerResponse>();
  let draining = false;
  let closing = false;
  let arrived = 0;
  let cut = 0;

  // Connections accepted that have not sent a request yet, by remote address
  // (the same for a TLS socket and the TCP socket under it, so a connection
  // still in its TLS handshake counts too).
  const fresh = new Map<string, Socket>();
  // Every open connection (the raw socket, under TLS too), for the connection metric.
  const open = new Set<Socket>();
  let freshWaiter: (() => void) | undefined;
  let activeWaiter: (() => void) | undefined;
  const done = (res: ServerResponse) => {
    const was = active.delete(res);
    if (active.size === 0) activeWaiter?.();
    return was;
  };
  const key = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;
  const forget = (k: string) => {
    fresh.delete(k);
    if (fresh.size === 0) freshWaiter?.();
  };
  const onConnection = (socket: Socket) => {
    // Computed now: a closed socket no longer knows its remote address.
    const k = key(socket);
    fresh.set(k, socket);
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (fresh.get(k) === socket) forget(k);
    });
  };
  server.on('connection', onConnection);

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (fresh.size > 0) forget(key(req.socket));
    active.add(res);
    if (draining) {
      arrived++;
      // Keep-alive clients reconnect for their next request, and their new
      // connection lands on an instance still in service; a socket reused at
      // the instant closing destroys it would fail instead.
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
    const socket: Socket = req.socket;
    // A socket that closes during closing before its response finished means
    // the request was cut, almost always by closeTimeoutMs. Clients that
    // hang up while the service runs normally (a load generator stopping, a
    // browser tab closed) are not the shutdown's doing and are not counted.
    const onSocketClose = () => {
      if (done(res) && closing) cut++;
    };
    socket.once('close', onSocketClose);
    res.once('finish', () => {
      done(res);
      socket.removeListener('close', onSocketClose);
    });
  };
  // First in line, so the header is set before the application answers.
  server.prependListener('request', onRequest);
  return {
    inFlight: () => active.size,
    startDraining: () => {
      draining = true;
      for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    counted: () => arrived,
    startClosing: () => {
      closing = true;
    },
    destroyedBusy: () => cut,
    async firstRequests(timeoutMs) {
      if (fresh.size === 0) return;
      await untilCalled(timeoutMs, (wake) => (freshWaiter = wake));
    },
    async settled(timeoutMs) {
      if (active.size === 0) return;
      await untilCalled(timeoutMs, (wake) => (activeWaiter = wake));
    },
    counts: () => ({ open: open.size, active: active.size }),
    dispose: () => {
      server.removeListener('connection', onConnection);
      server.removeListener('request', onRequest);
    },
  };
}
