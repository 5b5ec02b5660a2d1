// Types of bench/variants/index.mjs, for the bench variants' unit test.
export interface Variant {
  name: string;
  label: string;
  express?: 4 | 5;
  /** Passed to the module's start() beside `express`. */
  options?: Record<string, unknown>;
  load(): Promise<unknown>;
}

export declare const VARIANTS: readonly Variant[];
export declare function expressFor(variant: Variant): Promise<{ express: unknown; version: string | undefined }>;
