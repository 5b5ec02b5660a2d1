import express from 'express';
import httpContext from 'express-http-context';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { awaiting, userBody } from './shared.mjs';

/** express-http-context: a request-scoped Map in AsyncLocalStorage, no tracing. */
export async function start() {
  const app = express();
  app.use(httpContext.middleware);
  // The library keeps no id of its own; minting one per request is what its users do.
  app.use((req, res, next) => {
    httpContext.set('requestId', randomUUID());
    next();
  });
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, httpContext.get('requestId')));
    }),
  );
  return { server: createServer(app) };
}
