import express5 from 'express';
import { createServer } from 'node:http';
import { awaiting, userBody } from './shared.mjs';

/** Bare Express (5, or the `express` given): the baseline every ratio is taken against. */
export async function start({ express = express5 } = {}) {
  const app = express();
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, undefined));
    }),
  );
  return { server: createServer(app) };
}
