// What a rollout worker tells the primary over the cluster IPC channel.
import type { ShutdownReport } from 'throughline';

export type WorkerMessage =
  | { readonly kind: 'ready'; readonly pid: number }
  | { readonly kind: 'phase'; readonly phase: string; readonly at: number }
  | { readonly kind: 'in-flight'; readonly count: number; readonly at: number }
  | {
      readonly kind: 'exit';
      readonly code: number;
      readonly report: ShutdownReport;
      readonly jobs: { readonly started: number; readonly completed: number; readonly failed: number; readonly abandoned: number };
    };
