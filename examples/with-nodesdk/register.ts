// Imported with --import before the app: starts the NodeSDK (its exporters
// come from the OTEL_* environment variables, OTLP by default).
import { createSdk } from './otel.js';

export const sdk = createSdk();
sdk.start();
