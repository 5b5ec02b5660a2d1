// An in-process queue standing in for SQS/RabbitMQ/BullMQ: the producer puts
// the trace context into the message headers (injectContext) and the consumer
// continues the trace from them (runWithContext), exactly as it would across a
// real broker where no AsyncLocalStorage survives the trip.
import { injectContext, runWithContext } from 'throughline';

export interface QueueMessage<T> {
  readonly body: T;
  readonly headers: Record<string, string>;
}

export interface DemoQueue<T> {
  publish(body: T): void;
  /** Messages published and not yet handled. */
  pending(): number;
  /** Stops delivering new messages and waits for the ones being handled (a shutdown hook). */
  close(): Promise<void>;
}

export interface DemoQueueOptions<T> {
  readonly name: string;
  readonly handle: (body: T) => Promise<void>;
  /** Called with a handler's error; the message is dropped after that (a real broker would retry). */
  readonly onError: (error: unknown, body: T) => void;
}

export function createDemoQueue<T>({ name, handle, onError }: DemoQueueOptions<T>): DemoQueue<T> {
  const backlog: QueueMessage<T>[] = [];
  const inFlight = new Set<Promise<void>>();
  let scheduled = false;

  const deliver = () => {
    scheduled = false;
    while (backlog.length > 0) {
      const message = backlog.shift() as QueueMessage<T>;
      const work = runWithContext(message.headers, () => handle(message.body), { system: 'demo', destination: name })
        .catch((error: unknown) => onError(error, message.body))
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
    }
  };

  return {
    publish(body) {
      // A queue that is closing still accepts what requests in flight publish: losing it would lose work.
      backlog.push({ body, headers: injectContext({}, { span: true, system: 'demo', destination: name }) });
      if (!scheduled) {
        scheduled = true;
        // A broker round trip: the consumer runs later, outside the request's async chain.
        setTimeout(deliver, 5);
      }
    },
    pending: () => backlog.length + inFlight.size,
    async close() {
      while (backlog.length > 0 || inFlight.size > 0) {
        if (backlog.length > 0) deliver();
        await Promise.allSettled([...inFlight]);
      }
    },
  };
}
