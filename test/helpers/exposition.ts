import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen } from './server.js';

/** One sample line of the Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

// Go's ParseFloat spellings; Number('+Inf') would be NaN, hiding a wrong value.
function sampleValue(text: string, line: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`unparseable sample value in: ${line}`);
  return n;
}

/** Parses the sample lines (not the comments) of a text exposition, failing on a line it cannot read. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: sampleValue(m[3]!, line) });
  }
  return samples;
}

/** Samples named `name` whose labels include every pair of `match`. */
export function select(samples: readonly Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The value of the single sample matching, failing loudly when there is not exactly one. */
export function value(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  const found = select(samples, name, match);
  if (found.length !== 1) {
    throw new Error(`expected 1 sample ${name}${JSON.stringify(match)}, found ${found.length}: ${JSON.stringify(found)}`);
  }
  return found[0]!.value;
}

/** Serves `handler` on a throwaway server and returns one scrape. */
export async function scrapeHandler(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Sample[]> {
  const s = await listen(handler);
  try {
    return parseExposition(await (await fetch(`${s.url}/metrics`)).text());
  } finally {
    await s.close();
  }
}
