// npm runs `prepack` before `npm pack` and `npm publish`. Without dist/ the
// `files` allowlist would silently pack a package of four documents; refuse.
// Usage: node scripts/prepack-guard.mjs [package-root]   (default: this repo)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
const missing = ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/middleware/index.js'].filter((f) => !existsSync(join(root, f)));
if (missing.length > 0) {
  process.stderr.write(`throughline: refusing to pack without a build (missing ${missing.join(', ')}). Run \`npm run build\` first.\n`);
  process.exit(1);
}
