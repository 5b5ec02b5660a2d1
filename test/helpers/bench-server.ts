// Starts one bench/server.mjs variant in its own process through the bench's
// own client (bench/server-client.mjs), so the tests start, read and stop a
// variant exactly as `npm run bench` does; and the trace checks the variant
// tests share.
import assert from 'node:assert/strict';
import { startServer, type BenchServer } from '../../bench/server-client.mjs';

export const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

/** A variant's server, plain Node.js on the .mjs files (without this suite's tsx loader), and its base URL. */
export async function startBenchServer(name: string): Promise<BenchServer & { base: string }> {
  const server = await startServer(name);
  return Object.assign(server, { base: `http://127.0.0.1:${server.port}` });
}

/**
 * A valid incoming traceparent reaches the handler (the JSON `requestId` it
 * answers is the trace id), and a malformed one starts a new trace. Two
 * requests; returns the continued one's response, its body read.
 */
export async function assertContinuesTrace(base: string): Promise<Response> {
  const continued = await fetch(`${base}/users/9`, { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` } });
  assert.equal(((await continued.json()) as { requestId: string }).requestId, TRACE_ID);
  const malformed = await fetch(`${base}/users/9`, { headers: { traceparent: `00-${TRACE_ID}-zz-01` } });
  const fresh = ((await malformed.json()) as { requestId: string }).requestId;
  assert.match(fresh, /^[0-9a-f]{32}$/);
  assert.notEqual(fresh, TRACE_ID, 'a malformed traceparent starts a new trace');
  return continued;
}
