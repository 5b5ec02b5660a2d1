// The request's one context (LayeredContext in src/context/request-store.ts):
// it must behave exactly as the API's contexts do, whatever is set or deleted
// on it or on contexts derived from it.
import { createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { createRequestState, getRequestState, requestContextOf } from '../../../src/context/request-store.js';

const FROM_PARENT = createContextKey('test.from-parent');
const OTHER = createContextKey('test.other');
const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });

describe('the request context', () => {
  const parent = ROOT_CONTEXT.setValue(FROM_PARENT, 'p');
  const state = createRequestState('req-1', span, span.spanContext());
  const ctx = requestContextOf(parent, span, state);

  it('holds the span and the state, and reads the rest through its parent', () => {
    assert.equal(trace.getSpan(ctx), span);
    assert.equal(getRequestState(ctx), state);
    assert.equal(ctx.getValue(FROM_PARENT), 'p');
    assert.equal(ctx.getValue(OTHER), undefined);
  });

  it('derives new contexts without changing itself or its parent', () => {
    const child = ctx.setValue(OTHER, 1).setValue(FROM_PARENT, 'child');
    assert.equal(child.getValue(OTHER), 1);
    assert.equal(child.getValue(FROM_PARENT), 'child');
    assert.equal(trace.getSpan(child), span);
    assert.equal(ctx.getValue(OTHER), undefined);
    assert.equal(ctx.getValue(FROM_PARENT), 'p');
    assert.equal(parent.getValue(FROM_PARENT), 'p');
    const other = trace.wrapSpanContext({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 0 });
    assert.equal(trace.getSpan(trace.setSpan(ctx, other)), other);
    assert.equal(trace.getSpan(ctx), span);
  });

  it("deletes a value of its own or of its parent's, in the derived context only", () => {
    const noParentValue = ctx.deleteValue(FROM_PARENT);
    assert.equal(noParentValue.getValue(FROM_PARENT), undefined);
    assert.equal(ctx.getValue(FROM_PARENT), 'p');
    const noSpan = trace.deleteSpan(ctx);
    assert.equal(trace.getSpan(noSpan), undefined);
    assert.equal(getRequestState(noSpan), state);
    assert.equal(trace.getSpan(ctx), span);
    // Set again after a delete: visible again.
    assert.equal(noParentValue.setValue(FROM_PARENT, 'again').getValue(FROM_PARENT), 'again');
  });
});
