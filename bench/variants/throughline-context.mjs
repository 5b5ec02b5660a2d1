import express5 from 'express';
import { createServer } from 'node:http';
import { getTraceContext } from 'throughline/core';
import { traceContext } from 'throughline/express';
import { awaiting, userBody } from './shared.mjs';

/** traceContext() with the API only: no tracer or meter provider registered. */
export async function start({ express = express5 } = {}) {
  const app = express();
  app.use(traceContext());
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, getTraceContext().traceId));
    }),
  );
  return { server: createServer(app) };
}
