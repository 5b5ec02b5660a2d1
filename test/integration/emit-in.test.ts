import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { ensureContextManager } from '../../src/context/context-manager.js';
import { emitIn, isNodeClearIncoming } from '../../middleware/trace-context/emit-in.js';
import { resetState } from '../../src/testing.js';
import { listen } from '../helpers/server.js';

type Listener = (...args: unknown[]) => unknown;

// Node's own 'end' listener, as resOnFinish() adds it when a response
// finishes before its request was read to the end.
async function nodeClearIncoming(): Promise<Listener> {
  const listener = Promise.withResolvers<Listener>();
  const server = await listen((req, res) => {
    res.on('finish', () => listener.resolve(req.rawListeners('end')[0] as Listener));
    res.end('ok');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      request(`${server.url}/`, (res) => res.resume().on('end', resolve)).on('error', reject).end();
    });
    return await listener.promise;
  } finally {
    await server.close();
  }
}

const KEY = createContextKey('throughline.test.emit-in');
const REQUEST = ROOT_CONTEXT.setValue(KEY, 'request');

/** The value of KEY in the context emitIn()'s wrapper runs 'end' in, with `listeners` on it, emitted outside any context. */
function contextOfEnd(...listeners: Listener[]): unknown {
  const emitter = new EventEmitter();
  for (const listener of listeners) emitter.on('end', listener);
  const inner = emitter.emit.bind(emitter);
  let seen: unknown = 'not emitted';
  emitter.emit = (event: string | symbol, ...args: unknown[]) => {
    seen = context.active().getValue(KEY);
    return inner(event, ...args);
  };
  emitIn(REQUEST, emitter);
  emitter.emit('end');
  return seen;
}

describe("emitIn(): Node's own 'end' listener stays outside the request's context", () => {
  beforeEach(() => {
    ensureContextManager();
    resetState();
  });
  afterEach(() => resetState());

  it("recognises Node's own clearIncoming, on every Node line the suite runs on", async () => {
    const node = await nodeClearIncoming();
    assert.equal(node.name, 'clearIncoming');
    assert.equal(isNodeClearIncoming(node), true);
    assert.equal(isNodeClearIncoming(node), true, 'then by identity');
    assert.equal(isNodeClearIncoming(undefined), false);
  });

  it("does not take an application's function of the same name for Node's", async () => {
    // Before Node's is known: the name alone is not enough.
    assert.equal(isNodeClearIncoming(function clearIncoming() {}), false);
    assert.equal(isNodeClearIncoming(await nodeClearIncoming()), true);
    // After: only the very function Node uses. This body even reads parser.incoming.
    const lookalike = function clearIncoming(req: { socket?: { parser?: { incoming?: unknown } } }) {
      return req.socket?.parser?.incoming;
    } as Listener;
    assert.equal(isNodeClearIncoming(lookalike), false);
  });

  it("enters the request's context for an 'end' the application listens to, and not for Node's listener alone", async () => {
    const node = await nodeClearIncoming();
    assert.equal(contextOfEnd(node), undefined);
    assert.equal(contextOfEnd(node, () => undefined), 'request', 'beside an application listener');
    assert.equal(contextOfEnd(function clearIncoming() {}), 'request', "an application's function of the same name");
    assert.equal(contextOfEnd(() => undefined), 'request');
  });
});
