// Trap: a child process starts with an empty context. The OpenTelemetry
// specification's carrier for it is the environment: TRACEPARENT, TRACESTATE,
// BAGGAGE. Run:
//   npx tsx examples/pitfalls/child-process.ts
import { context } from '@opentelemetry/api';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv, contextFromEnv, runWithContext, tryGetTraceContext } from 'throughline';

if (process.env['PITFALL_CHILD'] === undefined) {
  const request = { traceparent: '00-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-eeeeeeeeeeeeeeee-01' };
  runWithContext(request, () => {
    const env = { ...childEnv(), PITFALL_CHILD: '1' };
    execFile(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env }, (error, stdout) => {
      console.log(`child saw ${stdout.trim()}`);
      if (error || stdout.trim() !== 'e'.repeat(32)) process.exitCode = 1;
    });
  }, { span: false });
} else {
  // First thing in the child: restore the parent's context.
  context.with(contextFromEnv(), () => process.stdout.write(`${tryGetTraceContext()?.traceId}\n`));
}
