// The default shutdown logger, in a forked child: with no `logger` option and
// no diag logger registered, a shutdown that exits 1 says why on stderr.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { diag } from '@opentelemetry/api';
import { diagLogger } from '../../src/lifecycle/logger.js';
import { captureDiag } from '../helpers/otel.js';
import { withoutCoverage } from '../helpers/subprocess.js';

const CHILD = fileURLToPath(new URL('../fixtures/default-logger-child.ts', import.meta.url));

interface Line {
  level: string;
  msg: string;
  phase?: string;
  flush?: string;
  report?: { timedOut: string[]; flush: string; exitCode: number };
}

describe('the default shutdown logger (no logger option, no diag logger)', function () {
  this.timeout(30_000);

  it('prints every phase, the flush timeout and the report on stderr; exit code 1', async () => {
    // A collector that accepts connections and never answers: the flush can only time out.
    const sockets = new Set<net.Socket>();
    const collector = net.createServer((socket) => sockets.add(socket));
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const { port } = collector.address() as net.AddressInfo;
    try {
      const proc = fork(CHILD, [], {
        env: withoutCoverage({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_LOG_LEVEL: '' }),
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      let stderr = '';
      let stdout = '';
      proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      proc.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const exit = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      await Promise.race([once(proc, 'message'), exit.then(() => assert.fail(`child exited before ready: ${stderr}`))]);
      proc.kill('SIGTERM');
      const [code, signal] = await exit;
      assert.deepEqual([code, signal], [1, null], stderr);
      assert.equal(stdout, '', 'nothing on stdout: it belongs to the application');
      const lines = stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
      const phases = lines.flatMap((l) => (l.phase === undefined ? [] : [l.phase]));
      assert.deepEqual(phases, ['draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped']);
      assert.equal(lines[0]!.msg, 'throughline: signal received, shutting down');
      const flush = lines.find((l) => l.msg === 'throughline: telemetry flush did not complete');
      assert.deepEqual([flush?.level, flush?.flush], ['error', 'timeout']);
      const report = lines.at(-1)!;
      assert.equal(report.msg, 'throughline: shutdown complete');
      assert.deepEqual(report.report && [report.report.timedOut, report.report.flush, report.report.exitCode], [['flushing'], 'timeout', 1]);
    } finally {
      for (const s of sockets) s.destroy();
      collector.close();
    }
  });

  it('goes through diag once the application registered a diag logger', () => {
    const seen = captureDiag();
    try {
      diagLogger.warn({ phase: 'jobs' }, 'throughline: detached jobs abandoned at shutdown');
      diagLogger.error({ flush: 'timeout' }, 'throughline: telemetry flush did not complete');
    } finally {
      diag.disable();
    }
    assert.deepEqual(seen, { warnings: ['throughline: detached jobs abandoned at shutdown'], errors: ['throughline: telemetry flush did not complete'] });
  });
});
