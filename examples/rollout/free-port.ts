import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now, for processes that must be told
 * their port before they start (cluster workers, a Prometheus server).
 */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}
