// Trap: `void sendEmail()` after responding. Its rejection is an
// unhandledRejection (the process exits on Node >= 15), nothing waits for it
// at shutdown, and nobody sees that it failed. Run:
//   npx tsx examples/pitfalls/fire-and-forget.ts
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { drainDetached, runDetached, runWithContext, tryGetTraceContext } from 'throughline';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR); // where throughline reports failures

async function sendEmail({ signal }: { signal: AbortSignal }): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  if (signal.aborted) return 'skipped';
  throw new Error(`SMTP down (trace ${tryGetTraceContext()?.traceId})`);
}

const request = { traceparent: '00-cccccccccccccccccccccccccccccccc-cccccccccccccccc-01' };
const handle = runWithContext(request, () => runDetached(sendEmail, { onError: (error) => console.log('onError:', String(error)) }), { span: false });

// At shutdown: wait for detached work (gracefulShutdown does this for you).
const report = await drainDetached({ timeoutMs: 5_000 });
const result = await handle.done; // never rejects: { ok: false, error }
console.log('drain report:', JSON.stringify(report), '| ok:', result.ok);
if (report.failed !== 1 || result.ok) process.exitCode = 1;
