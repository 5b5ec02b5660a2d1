// The duration record's attribute sets are looked up per outcome instead of
// built per request: each outcome must still get exactly its own attributes,
// and the lookup must stay bounded whatever routes a service has.
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { httpServerInstruments } from '../../../src/telemetry/http-server-metrics.js';
import { resetState } from '../../../src/testing.js';

describe('http.server.request.duration attribute sets', function () {
  afterEach(() => resetState());

  it('one frozen set per (route, status, aborted), each with exactly its attributes', function () {
    const slot = httpServerInstruments(new MeterProvider()).active('GET', 'https');
    const ok = slot.durationAttributes('/users/:id', 200, false);
    assert.deepEqual(ok, { 'http.request.method': 'GET', 'url.scheme': 'https', 'http.route': '/users/:id', 'http.response.status_code': 200 });
    assert.equal(slot.durationAttributes('/users/:id', 200, false), ok);
    assert.ok(Object.isFrozen(ok));
    assert.deepEqual(slot.durationAttributes('/users/:id', 503, false), {
      'http.request.method': 'GET',
      'url.scheme': 'https',
      'http.route': '/users/:id',
      'http.response.status_code': 503,
      'error.type': '503',
    });
    // Cut after the head was sent, cut before it, and no route at all.
    assert.deepEqual(slot.durationAttributes('/users/:id', 200, true), {
      'http.request.method': 'GET',
      'url.scheme': 'https',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
      'error.type': 'aborted',
    });
    assert.deepEqual(slot.durationAttributes(undefined, undefined, true), { 'http.request.method': 'GET', 'url.scheme': 'https', 'error.type': 'aborted' });
    assert.deepEqual(slot.durationAttributes(undefined, 404, false), { 'http.request.method': 'GET', 'url.scheme': 'https', 'http.response.status_code': 404 });
    assert.notEqual(slot.durationAttributes(undefined, 404, false), slot.durationAttributes('/404', 404, false));
  });

  it('remembers at most 2,000 sets per provider; past that each record gets a fresh one', function () {
    const instruments = httpServerInstruments(new MeterProvider());
    const get = instruments.active('GET', 'http');
    const post = instruments.active('POST', 'http');
    for (let i = 0; i < 1000; i++) {
      get.durationAttributes(`/r${i}`, 200, false);
      post.durationAttributes(`/r${i}`, 200, false);
    }
    assert.equal(get.durationAttributes('/r1', 200, false), get.durationAttributes('/r1', 200, false), 'remembered before the bound');
    const past = get.durationAttributes('/past', 200, false);
    assert.deepEqual(past, { 'http.request.method': 'GET', 'url.scheme': 'http', 'http.route': '/past', 'http.response.status_code': 200 });
    assert.notEqual(get.durationAttributes('/past', 200, false), past, 'not remembered past the bound');
    assert.equal(Object.isFrozen(past), false);
  });
});
