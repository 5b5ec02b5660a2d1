// Types of bench/rounds.mjs, for its unit test.
export declare const signed: (x: number) => string;
export declare function leastNoisy<T extends { other?: number | undefined }>(attempt: () => Promise<T>, limits: { retries: number; noise: number }): Promise<{ best: T; attempts: number }>;
export interface Judged {
  kind: 'cpu' | 'rss' | 'rps';
  max?: number;
  min?: number;
  value: number;
  interval: [number, number] | undefined;
  blocks?: number[];
  ratioBlocks?: number[];
  [key: string]: unknown;
}
export declare function decide<R extends Judged>(result: R, noiseOf?: { noisy: number; diffs: readonly number[] }): R & { met: boolean | undefined; noisy?: string };
