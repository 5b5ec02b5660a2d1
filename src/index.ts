// `throughline`: every export, for existing users and quick starts. It loads
// the SDKs and exporters (through throughline/telemetry); a service that wants
// less imports the subpath entries instead (docs/architecture.md has what each
// costs to load). Each of them names its exports one by one; this file is
// exactly their union (test/proofs/package.test.ts checks it), so it re-exports them
// whole, the one `export *` in the project, and the one place under src/ that
// imports middleware/.

export * from './core.js';
export * from './telemetry.js';
export * from './shutdown.js';
export * from '../middleware/index.js';
