import { createServer } from 'node:http';
import { userBody } from './shared.mjs';

const USER_RE = /^\/users\/([^/?]+)/;

/** Bare node:http: the ceiling. */
export async function start() {
  const server = createServer((req, res) => {
    const match = req.method === 'GET' ? USER_RE.exec(req.url) : null;
    if (!match) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const body = JSON.stringify(userBody(match[1], undefined));
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  });
  return { server };
}
