// Types of bench/profile.mjs, for its unit test.
export declare function ownerOf(url: string, root: string): string | undefined;
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}
export declare function profileTime(profile: CpuProfile, root: string): { busyUs: number; self: [string, number][]; owners: [string, number][] };
