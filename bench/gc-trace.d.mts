// Types of bench/gc-trace.mjs, for its unit test.
export declare function gcOf(line: string): { kind: 'scavenge' | 'full'; pauseMs: number; promoted: number } | undefined;
export declare function createGcCounter(): {
  counting: boolean;
  readonly scavenges: { count: number; pauseMs: number; promoted: number };
  readonly full: { count: number; pauseMs: number };
  feed(chunk: string | Buffer): void;
};
