// Every ```ts block in README.md and docs/*.md must compile against the real
// API: the blocks are written out as modules and typechecked with the
// project's own compiler settings.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SUBPATH_ENTRIES } from '../helpers/api-reference.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Writes `modules` (name -> source) beside a tsconfig and typechecks them with the project's settings. */
async function typecheck(dirName: string, modules: Map<string, string>, extraIncludes: string[] = []): Promise<void> {
  const outDir = join(root, '.tmp', dirName);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [name, source] of modules) writeFileSync(join(outDir, name), source);
  writeFileSync(
    join(outDir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '../..', noUnusedLocals: false, noUnusedParameters: false },
      include: ['./*.ts', '../../test/types/*.d.ts', ...extraIncludes],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', join(outDir, 'tsconfig.json')], { cwd: root });
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? String(error);
    assert.fail(`examples in ${dirName} do not compile:\n${out}`);
  }
}

/** Every name the root entry exports (the union of the subpath entries), values and types, for an `import { … } from 'throughline'`. */
function publicNames(): string {
  const index = Object.values(SUBPATH_ENTRIES).map((file) => readFileSync(join(root, file), 'utf8')).join('\n');
  const names = [...index.matchAll(/export (type )?\{([^}]*)\}/g)].flatMap(([, type, list]) =>
    list!
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '')
      .map((n) => (type ? `type ${n}` : n)),
  );
  return names.join(', ');
}

// What the API reference's examples take from around them (an app, a pool, a
// queue…): declared once, globally, so an example that declares its own
// shadows it.
const API_EXAMPLE_SURROUNDINGS = `
declare const app: import('express').Express;
declare const res: import('express').Response;
declare const server: import('node:http').Server;
declare const url: string;
declare const order: { id: string };
declare function createOrder(body: unknown): Promise<{ id: string }>;
declare function sendConfirmation(order: { id: string }, options: { signal: AbortSignal }): Promise<void>;
declare const logger: import('pino').Logger;
declare const pool: {
  acquire(callback: (err: Error | null, conn: unknown) => void): void;
  query(sql: string, options?: { signal?: AbortSignal }): Promise<unknown>;
  end(): Promise<void>;
};
declare const queue: { add(name: string, data: unknown): Promise<unknown> };
declare const to: string;
declare const message: { headers: Record<string, string> };
declare const worker: { process(handler: (job: { data: { trace: Record<string, string> } }) => Promise<unknown>): void };
declare function sendEmail(data: unknown): Promise<void>;
declare function main(): void;
declare const provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> };
declare let failedJobs: number;
declare const telemetry: import('throughline').Telemetry;
declare function terminate(reason?: string): Promise<import('throughline').ShutdownReport>;
`;

describe('documentation examples', () => {
  it('every ```ts block in README.md and docs/ typechecks', async function () {
    this.timeout(120_000);
    const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const modules = new Map<string, string>();
    for (const file of files) {
      codeBlocks(readFileSync(join(root, file), 'utf8')).forEach((block, i) => {
        // Each block is its own module, so top-level names do not collide.
        modules.set(`${file.replace(/[/.]/g, '_')}_${i}.ts`, `${block}\nexport {};\n`);
      });
    }
    assert.ok(modules.size > 0, 'the docs have TypeScript examples');
    await typecheck('doc-examples', modules);
  });

  it("every Example in docs/api.md (the @example of each export's doc comment) typechecks", async function () {
    this.timeout(120_000);
    const api = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
    const examples = [...api.matchAll(/^Example:\n\n```typescript\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    assert.equal(examples.length, (api.match(/^Example:$/gm) ?? []).length, 'every Example has a code block');
    const prelude = [
      "import express from 'express';",
      "import pino from 'pino';",
      "import * as http from 'node:http';",
      "import { spawn } from 'node:child_process';",
      "import { EventEmitter } from 'node:events';",
      "import { context, propagation } from '@opentelemetry/api';",
      "import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';",
      `import { ${publicNames()} } from 'throughline';`,
    ].join('\n');
    const modules = new Map<string, string>([['surroundings.d.ts', API_EXAMPLE_SURROUNDINGS]]);
    examples.forEach((example, i) => modules.set(`api_example_${i}.ts`, `${prelude}\n${example}\nexport {};\n`));
    await typecheck('api-examples', modules, ['./*.d.ts']);
  });
});
