// Every ```ts block in README.md and docs/*.md must compile against the real
// API: the blocks are written out as modules and typechecked with the
// project's own compiler settings.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

export function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe('documentation examples', () => {
  it('every ```ts block in README.md and docs/ typechecks', async function () {
    this.timeout(120_000);
    const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const outDir = join(root, '.tmp', 'doc-examples');
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    let count = 0;
    const origins: string[] = [];
    for (const file of files) {
      codeBlocks(readFileSync(join(root, file), 'utf8')).forEach((block, i) => {
        const name = `${file.replace(/[/.]/g, '_')}_${i}.ts`;
        // Each block is its own module, so top-level names do not collide.
        writeFileSync(join(outDir, name), `${block}\nexport {};\n`);
        origins.push(`${name} <- ${file} block ${i + 1}`);
        count++;
      });
    }
    assert.ok(count > 0, 'the docs have TypeScript examples');
    writeFileSync(
      join(outDir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true, rootDir: '../..', noUnusedLocals: false, noUnusedParameters: false },
        include: ['./*.ts', '../../test/types/*.d.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      await run(process.execPath, [tsc, '-p', join(outDir, 'tsconfig.json')], { cwd: root });
    } catch (error) {
      const out = (error as { stdout?: string }).stdout ?? String(error);
      assert.fail(`documentation examples do not compile:\n${out}\n${origins.join('\n')}`);
    }
  });
});
