import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { processState } from '../../src/internal/state.js';
import { redactQuery } from '../../src/internal/url.js';

export function schemeOf(req: IncomingMessage): 'http' | 'https' {
  return (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
}

// server.address / server.port come from the Host header (HTTP server semantic
// conventions); an IPv6 literal keeps its brackets out of the address.
function parseHost(host: string, scheme: string): [string, number] | undefined {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return undefined;
  const address = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return [address, m[2] ? Number(m[2]) : scheme === 'https' ? 443 : 80];
}

// A service sees the same few Host values over and over: remember the last one.
function hostAndPort(host: string | undefined, scheme: string): [string, number] | undefined {
  if (!host) return undefined;
  const state = processState();
  let last = state.lastHost;
  if (last?.host !== host || last.scheme !== scheme) last = state.lastHost = { host, scheme, parsed: parseHost(host, scheme) };
  return last.parsed;
}

export function requestAttributes(req: IncomingMessage, method: string, scheme: 'http' | 'https'): Attributes {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_URL_PATH]: q === -1 ? url : url.slice(0, q),
    [ATTR_URL_SCHEME]: scheme,
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
  };
  if (q !== -1) attributes[ATTR_URL_QUERY] = redactQuery(url.slice(q + 1));
  if (method === '_OTHER' && req.method) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = req.method;
  const server = hostAndPort(req.headers.host, scheme);
  if (server) {
    attributes[ATTR_SERVER_ADDRESS] = server[0];
    attributes[ATTR_SERVER_PORT] = server[1];
  }
  if (req.socket.remoteAddress) attributes[ATTR_CLIENT_ADDRESS] = req.socket.remoteAddress;
  const ua = req.headers['user-agent'];
  if (ua) attributes[ATTR_USER_AGENT_ORIGINAL] = ua;
  return attributes;
}
