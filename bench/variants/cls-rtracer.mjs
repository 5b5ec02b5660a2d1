import rTracer from 'cls-rtracer';
import express from 'express';
import { createServer } from 'node:http';
import { awaiting, userBody } from './shared.mjs';

/** cls-rtracer: a request id in AsyncLocalStorage, no tracing. */
export async function start() {
  const app = express();
  app.use(rTracer.expressMiddleware());
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, rTracer.id()));
    }),
  );
  return { server: createServer(app) };
}
