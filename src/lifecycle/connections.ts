import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2SecureServer, Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

/** The servers `gracefulShutdown()` takes: HTTP/1 (http, https) and HTTP/2 (with or without `allowHTTP1`). */
export type ShutdownServer = Server | Http2Server | Http2SecureServer;

/**
 * One WebSocket connection as `closing` needs it; a `ws` `WebSocket` satisfies it.
 *
 * @example
 * // What closing calls on each client of a `ws` WebSocketServer:
 * const goingAway = (socket: WebSocketLike) => socket.close(1001, 'server shutting down');
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WebSocket API's values). */
  readonly readyState: number;
  /** Starts the close handshake with `code` (closing sends 1001, "going away"). */
  close(code?: number, reason?: string): void;
  /** Destroys the connection without a close handshake. */
  terminate(): void;
}

/**
 * A WebSocket server as `closing` needs it: a `ws` `WebSocketServer` satisfies it
 * (throughline does not import `ws`).
 *
 * @example
 * // With ws: const wss = new WebSocketServer({ server }); gracefulShutdown(server, { websockets: wss });
 * const server = http.createServer();
 * const sockets: WebSocketServerLike = { clients: new Set<WebSocketLike>() };
 * gracefulShutdown(server, { websockets: sockets });
 */
export interface WebSocketServerLike {
  /** The open connections (`ws` keeps them in a Set when `clientTracking` is on, its default). */
  readonly clients: Iterable<WebSocketLike>;
}

/** How many of each kind of connection `closing` ended politely, and how many it cut. */
/**
 * A closing in which nothing happened yet: every count at zero.
 *
 * @example
 * emptyClosingOutcome().socketsCut; // 0
 */
export function emptyClosingOutcome(): ClosingOutcome {
  return { responsesFinished: 0, responsesCut: 0, socketsCut: 0, upgradedClosed: 0, upgradedCut: 0, sessionsClosed: 0, sessionsDestroyed: 0, timedOut: false };
}

export interface ClosingOutcome {
  /** Responses (HTTP/1 and HTTP/2 streams) in flight during closing that finished. */
  responsesFinished: number;
  /** Responses whose socket or stream closed before they finished. */
  responsesCut: number;
  /** HTTP/1 sockets that closed under an unfinished response. */
  socketsCut: number;
  /** Upgraded connections (WebSockets) that closed before closeTimeoutMs. */
  upgradedClosed: number;
  /** Upgraded connections destroyed at closeTimeoutMs. */
  upgradedCut: number;
  /** HTTP/2 sessions that closed after GOAWAY, their streams done. */
  sessionsClosed: number;
  /** HTTP/2 sessions destroyed at closeTimeoutMs. */
  sessionsDestroyed: number;
  /** Whether connections were still open at closeTimeoutMs. */
  timedOut: boolean;
}

/** Request, stream and socket bookkeeping of one server, and the closing it does. */
export interface ConnectionTracker {
  /** Requests and HTTP/2 streams whose response has not finished yet. */
  inFlight(): number;
  /**
   * Draining began: count arriving requests and answer every HTTP/1 response with
   * `Connection: close`, in flight ones included when their headers are not sent.
   */
  startDraining(): void;
  /** Requests that arrived since `startDraining()`. */
  counted(): number;
  /**
   * Starts closing every connection politely (see the comment in the
   * function); `finishClosing()` waits for them until `timeoutMs` from now.
   */
  startClosing(timeoutMs: number, websockets: readonly WebSocketServerLike[]): void;
  /**
   * Resolves when every connection accepted has sent its first request (or
   * closed, upgraded, or started HTTP/2), or after `timeoutMs`.
   */
  firstRequests(timeoutMs: number): Promise<void>;
  /** Waits until every connection closed or the deadline, then destroys what is still open. */
  finishClosing(): Promise<ClosingOutcome>;
  /** Open connections now, and those in use: a response in flight, upgraded, or an HTTP/2 session with streams. */
  counts(): { open: number; active: number };
  /** Remove the server listeners. */
  dispose(): void;
}

/** At most this long, a connection opened before closing gets to send its first request (a TLS handshake may be under way). */
export const FIRST_REQUEST_GRACE_MS = 1_000;
/**
 * How long a keep-alive socket idle during closing stays open before closing
 * ends it: a request the client sent just before is still answered. See the
 * comment in close().
 */
export const KEEP_ALIVE_GRACE_MS = 250;
/** How long closing waits for the 'close' events of the connections it destroyed. */
export const SOCKETS_SETTLE_MS = 1_000;
/** The close code sent to WebSockets: 1001, "going away" (RFC 6455 §7.4.1). */
export const WEBSOCKET_GOING_AWAY = 1001;

type Kind = 'fresh' | 'http1' | 'upgraded' | 'http2';
interface Conn {
  /** The TCP socket of the 'connection' event. */
  readonly raw: Socket;
  /** What to end: the TLS socket over `raw` once known, else `raw`. */
  socket: Socket;
  kind: Kind;
  /** Unfinished responses (HTTP/1) or open streams (HTTP/2). */
  busy: number;
  cut: boolean;
  timer: NodeJS.Timeout | undefined;
}
type Stage = 'serving' | 'closing' | 'cutting';

// The WebSocket API's readyState values.
const CLOSED = 3;

export function trackConnections(server: ShutdownServer): ConnectionTracker {
  const emitter = server as unknown as Server;
  let stage: Stage = 'serving';
  let draining = false;
  let arrived = 0;
  let accepted = 0;
  const outcome = emptyClosingOutcome();
  // By remote address: the same for a TLS socket, the TCP socket under it
  // and an HTTP/2 session's socket proxy, so each event finds its connection.
  const conns = new Map<string, Conn>();
  const active = new Set<ServerResponse | ServerHttp2Stream>();
  const sessions = new Set<Http2Session>();
  let wake: (() => void) | undefined;
  let deadline = 0;
  let firstGrace = FIRST_REQUEST_GRACE_MS;
  let websocketServers: readonly WebSocketServerLike[] = [];
  const key = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;

  const endWhenIdle = (conn: Conn, ms: number) => {
    clearTimeout(conn.timer);
    conn.timer = setTimeout(() => {
      if (conn.busy === 0 && (conn.kind === 'http1' || conn.kind === 'fresh') && !conn.socket.writableEnded) conn.socket.end();
    }, ms);
    conn.timer.unref();
  };

  const onConnection = (raw: Socket) => {
    // Computed now: a closed socket no longer knows its remote address.
    const k = key(raw);
    accepted++;
    const conn: Conn = { raw, socket: raw, kind: 'fresh', busy: 0, cut: false, timer: undefined };
    conns.set(k, conn);
    if (stage === 'closing') endWhenIdle(conn, firstGrace);
    raw.once('close', () => {
      clearTimeout(conn.timer);
      if (conns.get(k) === conn) conns.delete(k);
      if (conn.kind === 'upgraded' && stage !== 'serving') outcome[stage === 'cutting' ? 'upgradedCut' : 'upgradedClosed']++;
      wake?.();
    });
  };
  const onSecureConnection = (socket: Socket) => {
    const conn = conns.get(key(socket));
    if (conn) conn.socket = socket;
  };
  const finishedOne = (conn: Conn | undefined, res: ServerResponse | ServerHttp2Stream) => {
    if (!active.delete(res)) return;
    if (stage !== 'serving') outcome.responsesFinished++;
    if (!conn) return;
    conn.busy--;
    // A response whose headers went out before closing said keep-alive: the
    // socket stays open for the client's next request, which gets the grace too.
    if (stage === 'closing' && conn.busy === 0 && conn.kind === 'http1') endWhenIdle(conn, KEEP_ALIVE_GRACE_MS);
  };
  const cutOne = (conn: Conn | undefined, res: ServerResponse | ServerHttp2Stream) => {
    if (!active.delete(res)) return;
    if (conn) conn.busy--;
    // A response cut during closing is the shutdown's doing, almost always
    // closeTimeoutMs. Clients that hang up while the service runs normally
    // (a load generator stopping, a browser tab closed) are not counted.
    if (stage === 'serving') return;
    outcome.responsesCut++;
    if (conn?.kind === 'http1' && !conn.cut) {
      conn.cut = true;
      outcome.socketsCut++;
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // HTTP/2 compatibility requests are tracked as streams ('stream' below);
    // `Connection` is a connection-specific header HTTP/2 forbids (RFC 9113 §8.2.2).
    if (req.httpVersionMajor === 2) return;
    const socket: Socket = req.socket;
    let conn = conns.get(key(socket));
    if (conn?.kind === 'fresh' || conn?.kind === 'http1') {
      conn.kind = 'http1';
      conn.socket = socket;
      conn.busy++;
      clearTimeout(conn.timer);
    } else {
      conn = undefined;
    }
    active.add(res);
    if (draining) {
      arrived++;
      // Keep-alive clients reconnect for their next request, and their new
      // connection lands on an instance still in service.
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
    const onSocketClose = () => cutOne(conn, res);
    socket.once('close', onSocketClose);
    res.once('finish', () => {
      socket.removeListener('close', onSocketClose);
      finishedOne(conn, res);
    });
  };

  const onUpgrade = (_req: IncomingMessage, socket: Socket) => {
    // An upgraded socket never sends an HTTP request again: it is neither
    // fresh (waiting for its first request) nor idle.
    const conn = conns.get(key(socket));
    if (!conn) return;
    clearTimeout(conn.timer);
    conn.kind = 'upgraded';
    conn.socket = socket;
    wake?.();
  };
  // Node answers an upgrade request as a plain request when no 'upgrade'
  // listener exists: listen only while the application does (a ws server).
  let upgradeAttached = false;
  const syncUpgrade = () => {
    const others = emitter.listeners('upgrade').filter((l) => l !== onUpgrade).length;
    if (others > 0 && !upgradeAttached) {
      upgradeAttached = true;
      emitter.prependListener('upgrade', onUpgrade);
    } else if (others === 0 && upgradeAttached) {
      upgradeAttached = false;
      emitter.removeListener('upgrade', onUpgrade);
    }
  };
  const onListenerChange = (event: string | symbol, listener: unknown) => {
    // 'newListener' fires before the listener is added: look once it is.
    if (event === 'upgrade' && listener !== onUpgrade) process.nextTick(syncUpgrade);
  };

  const onSession = (session: Http2Session) => {
    sessions.add(session);
    const socket = session.socket;
    const conn = conns.get(key(socket));
    if (conn) conn.kind = 'http2';
    wake?.();
    session.once('close', () => {
      sessions.delete(session);
      if (stage !== 'serving') outcome[stage === 'cutting' ? 'sessionsDestroyed' : 'sessionsClosed']++;
      wake?.();
    });
    if (stage !== 'serving') session.close();
  };
  const onStream = (stream: ServerHttp2Stream) => {
    const socket = stream.session?.socket;
    const conn = socket ? conns.get(key(socket)) : undefined;
    if (conn) conn.busy++;
    active.add(stream);
    if (draining) arrived++;
    stream.once('finish', () => finishedOne(conn, stream));
    stream.once('close', () => cutOne(conn, stream));
  };

  // Every listener this tracker adds, so dispose() removes exactly these.
  const events = emitter as unknown as { on(event: string, listener: unknown): void; removeListener(event: string, listener: unknown): void };
  const listeners: [string, unknown][] = [
    ['connection', onConnection],
    ['secureConnection', onSecureConnection],
    ['session', onSession],
    ['stream', onStream],
    ['newListener', onListenerChange],
    ['removeListener', onListenerChange],
  ];
  for (const [event, listener] of listeners) events.on(event, listener);
  // First in line, so the header is set before the application answers.
  emitter.prependListener('request', onRequest);
  syncUpgrade();

  const anyFresh = () => [...conns.values()].some((conn) => conn.kind === 'fresh');
  const anyOpen = () => conns.size > 0 || sessions.size > 0;
  /** Resolves when `waiting()` is false, or at `until` (a performance.now() time). */
  async function until(waiting: () => boolean, until: number): Promise<void> {
    while (waiting()) {
      const left = until - performance.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
      } finally {
        wake = undefined;
        clearTimeout(timer);
      }
    }
  }

  return {
    inFlight: () => active.size,
    startDraining: () => {
      draining = true;
      for (const res of active) if ('setHeader' in res && !res.headersSent) res.setHeader('connection', 'close');
    },
    counted: () => arrived,
    startClosing(timeoutMs, websockets) {
      stage = 'closing';
      deadline = performance.now() + timeoutMs;
      websocketServers = websockets;
      // The polite close of each protocol, all at once:
      // - HTTP/1 with a response in flight: `Connection: close` (set since
      //   draining), so Node ends the socket once the response is sent.
      // - HTTP/1 idle keep-alive: the keep-alive race. A client may have sent
      //   its next request on the socket an instant ago; destroying the socket
      //   then resets that request (the kernel answers unread bytes with RST),
      //   and even a FIN reaches the client only after it has committed the
      //   request. So the socket stays open KEEP_ALIVE_GRACE_MS (250 ms, far
      //   above an in-cluster round trip): what arrives meanwhile is served
      //   with `Connection: close`, and only then is the socket half-closed
      //   with end() (a FIN, never a RST). Measured on 200 trials sending at
      //   closing start ±3 ms and ±10 ms: 23 and 7 resets before, 0 and 0 after.
      // - Connections that have not sent their first request (a TLS handshake
      //   may be under way): FIRST_REQUEST_GRACE_MS, then likewise.
      // - HTTP/2: session.close() sends GOAWAY; streams open finish, new ones
      //   are refused (the client retries them elsewhere); the session closes
      //   when its last stream does.
      // - WebSockets handed over in `websockets`: close code 1001 and the
      //   close handshake. Other upgraded connections are the application's
      //   to close (shutdownSignal()).
      const grace = Math.min(KEEP_ALIVE_GRACE_MS, timeoutMs / 4);
      firstGrace = Math.min(FIRST_REQUEST_GRACE_MS, timeoutMs / 4);
      for (const conn of conns.values()) {
        if (conn.kind === 'fresh') endWhenIdle(conn, firstGrace);
        else if (conn.kind === 'http1' && conn.busy === 0) endWhenIdle(conn, grace);
      }
      for (const session of sessions) session.close();
      for (const wss of websockets) {
        for (const ws of wss.clients) if (ws.readyState < 2) ws.close(WEBSOCKET_GOING_AWAY, 'server shutting down');
      }
    },
    async firstRequests(timeoutMs) {
      const end = performance.now() + timeoutMs;
      // libuv accepts every queued connection in the poll phase: once a whole
      // loop turn (setImmediate runs right after poll) brought no new one and
      // none is silent, the accept queue was empty and closing the listener
      // resets nobody.
      for (;;) {
        await until(anyFresh, end);
        const seen = accepted;
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        if (accepted === seen || performance.now() >= end) return;
      }
    },
    async finishClosing() {
      await until(anyOpen, deadline);
      if (anyOpen()) {
        outcome.timedOut = true;
        stage = 'cutting';
        for (const wss of websocketServers) for (const ws of wss.clients) if (ws.readyState !== CLOSED) ws.terminate();
        for (const session of sessions) session.destroy();
        for (const conn of conns.values()) {
          conn.socket.destroy();
          conn.raw.destroy();
        }
        await until(anyOpen, performance.now() + SOCKETS_SETTLE_MS);
      }
      return { ...outcome };
    },
    counts: () => {
      let busy = 0;
      for (const conn of conns.values()) if (conn.busy > 0 || conn.kind === 'upgraded') busy++;
      return { open: conns.size, active: busy };
    },
    dispose: () => {
      for (const [event, listener] of listeners) events.removeListener(event, listener);
      emitter.removeListener('request', onRequest);
      emitter.removeListener('upgrade', onUpgrade);
      upgradeAttached = false;
    },
  };
}
