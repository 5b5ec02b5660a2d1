import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Request and socket bookkeeping the shutdown report needs (http-terminator keeps no counts). */
export interface ConnectionTracker {
  /** Requests whose response has not finished yet. */
  inFlight(): number;
  /** Start counting requests that arrive (the draining phase). */
  startCounting(): void;
  /** Requests that arrived since `startCounting()`. */
  counted(): number;
  /** Sockets that closed while their response was unfinished: cut requests. */
  destroyedBusy(): number;
  /** Remove the server listeners. */
  dispose(): void;
}

export function trackConnections(server: Server): ConnectionTracker {
  const active = new Set<ServerResponse>();
  let counting = false;
  let arrived = 0;
  let cut = 0;

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    active.add(res);
    if (counting) arrived++;
    const socket = req.socket as Socket;
    // A socket that closes before its response finished means the request
    // was cut: by closeTimeoutMs, or by the client going away.
    const onSocketClose = () => {
      if (active.delete(res)) cut++;
    };
    socket.once('close', onSocketClose);
    res.once('finish', () => {
      active.delete(res);
      socket.removeListener('close', onSocketClose);
    });
  };
  server.on('request', onRequest);
  return {
    inFlight: () => active.size,
    startCounting: () => {
      counting = true;
    },
    counted: () => arrived,
    destroyedBusy: () => cut,
    dispose: () => {
      server.removeListener('request', onRequest);
    },
  };
}
