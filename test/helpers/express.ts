import express5 from 'express';
import express4 from 'express4';

/** The Express lines throughline supports; every Express-facing suite runs once per entry. */
export const EXPRESS_VARIANTS = [
  { name: 'Express 5', express: express5, major: 5 },
  { name: 'Express 4', express: express4, major: 4 },
] as const;

export type ExpressFactory = typeof express5;
