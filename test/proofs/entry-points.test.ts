import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every module (as a package name, or a path in dist/) that importing `entry` from dist/ loads. */
async function loadedBy(entry: string): Promise<string[]> {
  const fixture = fileURLToPath(new URL('../fixtures/loaded-modules.mjs', import.meta.url));
  const { stdout } = await run(process.execPath, [fixture, entry], { cwd: root });
  return (JSON.parse(stdout) as string[]).map((url) => {
    const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (inModules) return inModules[1]!;
    const inDist = /\/dist\/(.*)$/.exec(url);
    return inDist ? `dist/${inDist[1]}` : url;
  });
}

// What must never load unless telemetry is asked for (docs/architecture.md).
const SDK = /^@opentelemetry\/(sdk-|exporter-|resources$|instrumentation)/;

describe('entry points (dist/, through the exports map)', () => {
  for (const entry of ['throughline/core', 'throughline/express', 'throughline/shutdown']) {
    it(`${entry} loads no OpenTelemetry SDK, resource or exporter package`, async () => {
      const loaded = await loadedBy(entry);
      assert.ok(loaded.some((m) => m === '@opentelemetry/api'), 'the probe saw the API load');
      assert.deepEqual([...new Set(loaded.filter((m) => SDK.test(m)))], []);
    });
  }

  it('throughline/express loads no code of the telemetry setup or of the shutdown orchestration', async () => {
    const loaded = await loadedBy('throughline/express');
    const pattern = /^(dist\/src\/telemetry\/(setup-telemetry|metrics-endpoint|runtime-metrics)|dist\/src\/lifecycle\/(graceful-shutdown|phases|connections))/;
    assert.deepEqual(loaded.filter((m) => pattern.test(m)), []);
  });

  it('throughline/telemetry is where the SDK and the exporters load', async () => {
    const loaded = new Set(await loadedBy('throughline/telemetry'));
    for (const name of ['@opentelemetry/sdk-metrics', '@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-http']) assert.ok(loaded.has(name), name);
  });
});
