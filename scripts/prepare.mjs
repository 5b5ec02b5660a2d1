// npm runs `prepare` after `npm install` from a git URL (and in a clone after
// `npm install`/`npm ci`): a git install has no dist/, so build it then. In a
// clone that already built it, do nothing (npm test and npm start build anyway).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../dist/src/index.js', import.meta.url))) {
  process.stderr.write('throughline: building dist/ (prepare)\n');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}
