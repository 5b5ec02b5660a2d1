// What a successful order must leave behind; shared by the rollout and its test.

/** The spans one successful `POST /orders` produces across the two services. */
export const SPANS_PER_ORDER = [
  'POST /orders', // orders: SERVER
  'GET', // orders: CLIENT, the tracedFetch to inventory
  'GET /inventory/:sku', // inventory: SERVER
  'send-confirmation', // orders: runDetached job
  'create fulfilment', // orders: PRODUCER, injectContext
  'process fulfilment', // orders: CONSUMER, runWithContext
] as const;
