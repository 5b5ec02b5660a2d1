// Types of bench/server-client.mjs, for the bench's tests (test/helpers/bench-server.ts).
import type { ChildProcess } from 'node:child_process';

export declare const URL_PATH: string;
export declare const HALF_TRACED: { headers?: Record<string, string> }[];

/** What a variant's server reports about itself (bench/server.mjs, 'stats'). */
export interface BenchServerStats {
  rss: number;
  cpuUs: number;
  systemUs: number;
  allocatedBytes?: number;
  spans?: number;
}

export interface BenchServer {
  child: ChildProcess;
  port: number;
  url: string;
  expressVersion: string | undefined;
  stats(): Promise<BenchServerStats>;
  stop(): Promise<void>;
}

export declare function startServer(name: string, options?: { pin?: boolean; nodeArgs?: string[]; stdout?: 'inherit' | 'pipe' }): Promise<BenchServer>;
