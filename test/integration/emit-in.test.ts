import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { onlyNodeClearIncoming } from '../../middleware/trace-context/emit-in.js';
import { resetState } from '../../src/testing.js';
import { listen } from '../helpers/server.js';

// Node's own 'end' listener, as resOnFinish() adds it when a response
// finishes before its request was read to the end.
async function nodeClearIncoming(): Promise<(...args: unknown[]) => unknown> {
  const listener = Promise.withResolvers<(...args: unknown[]) => unknown>();
  const server = await listen((req, res) => {
    res.on('finish', () => listener.resolve(req.rawListeners('end')[0] as (...args: unknown[]) => unknown));
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

function emitterWith(...listeners: ((...args: unknown[]) => unknown)[]): EventEmitter {
  const emitter = new EventEmitter();
  for (const listener of listeners) emitter.on('end', listener);
  return emitter;
}

describe("onlyNodeClearIncoming(): the 'end' listener emitIn() leaves outside the request's context", () => {
  beforeEach(() => resetState());
  afterEach(() => resetState());

  it("recognises Node's own listener, alone, on every Node line the suite runs on", async () => {
    const node = await nodeClearIncoming();
    assert.equal(node.name, 'clearIncoming');
    assert.equal(onlyNodeClearIncoming(emitterWith(node)), true);
    assert.equal(onlyNodeClearIncoming(emitterWith(node)), true, 'then by identity');
    assert.equal(onlyNodeClearIncoming(emitterWith(node, () => undefined)), false, 'not beside an application listener');
    assert.equal(onlyNodeClearIncoming(emitterWith()), false);
  });

  it("does not take an application's function of the same name for Node's", async () => {
    // Before Node's is known: the name alone is not enough.
    assert.equal(onlyNodeClearIncoming(emitterWith(function clearIncoming() {})), false);
    assert.equal(onlyNodeClearIncoming(emitterWith(await nodeClearIncoming())), true);
    // After: only the very function Node uses. This body even reads parser.incoming.
    const lookalike = function clearIncoming(req: { socket?: { parser?: { incoming?: unknown } } }) {
      return req.socket?.parser?.incoming;
    } as (...args: unknown[]) => unknown;
    assert.equal(onlyNodeClearIncoming(emitterWith(lookalike)), false);
  });
});
