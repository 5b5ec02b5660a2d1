// Types of bench/stats.mjs, for its unit test.
export declare function median(xs: readonly number[]): number;
export declare function medianInterval(xs: readonly number[]): [number, number] | undefined;
export declare function verdict(interval: readonly [number, number] | undefined, limit: { max?: number; min?: number }): boolean | undefined;
