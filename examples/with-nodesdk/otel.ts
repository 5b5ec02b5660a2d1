// The NodeSDK as most services start it. It must run before express and
// node:http are imported, because its instrumentations patch modules as they
// load: start the process with `node --import tsx --import ./otel.ts main.ts`.
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';

/**
 * A NodeSDK with every auto-instrumentation at its default except the two
 * that wrap each Express layer in a span of its own. They may stay on
 * (getTraceContext() and runDetached() still name the SERVER span); off, a
 * request is two spans instead of one per middleware and handler, and
 * throughline already names the SERVER span after the route.
 */
export function createSdk(options: Partial<NodeSDKConfiguration> = {}): NodeSDK {
  return new NodeSDK({
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-router': { enabled: false },
        '@opentelemetry/instrumentation-express': { enabled: false },
      }),
    ],
    ...options,
  });
}
