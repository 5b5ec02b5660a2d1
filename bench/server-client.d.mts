// Types of bench/server-client.mjs, for the bench variants' unit test.
import type { ChildProcess } from 'node:child_process';

export declare const URL_PATH: string;

export interface ServerStats {
  rss: number;
  cpuUs: number;
  systemUs: number;
  allocatedBytes: number;
  /** Spans the variant's counting exporter received, for variants with a tracer provider. */
  spans: number | undefined;
}

export interface BenchServer {
  child: ChildProcess;
  port: number;
  url: string;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

export declare function startServer(name: string, options?: { pin?: boolean; nodeArgs?: string[]; stdout?: 'inherit' | 'pipe' }): Promise<BenchServer>;
