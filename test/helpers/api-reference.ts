// Generates docs/api.md from the public entry point: every export of
// src/index.ts with its signature and its JSDoc, in the order and sections of
// index.ts. A test compares the file with this output, so the reference
// cannot drift from the code. Regenerate with `npm run docs:api`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const entry = `${root}src/index.ts`;
export const API_REFERENCE_PATH = `${root}docs/api.md`;

function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): { text: string; examples: string[] } {
  // `{@link x}` reads better in markdown as code.
  const text = ts
    .displayPartsToString(symbol.getDocumentationComment(checker))
    .replace(/\{@link\s+([^}\s]+)\s*\}/g, '`$1`')
    .trim();
  const examples = symbol
    .getJsDocTags(checker)
    .filter((t) => t.name === 'example')
    .map((t) => ts.displayPartsToString(t.text).trim());
  return { text, examples };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function membersTable(type: ts.Type, checker: ts.TypeChecker, at: ts.Node): string[] {
  const props = type.getProperties();
  if (props.length === 0) return [];
  const rows = ['| member | type | description |', '|---|---|---|'];
  for (const prop of props) {
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0 ? '?' : '';
    const propType = checker.typeToString(checker.getTypeOfSymbolAtLocation(prop, at), at, ts.TypeFormatFlags.NoTruncation);
    rows.push(`| \`${prop.name}${optional}\` | \`${oneLine(propType)}\` | ${oneLine(docOf(prop, checker).text)} |`);
  }
  return rows;
}

function signatureOf(name: string, symbol: ts.Symbol, checker: ts.TypeChecker): { code: string; table: string[] } {
  const decl = symbol.declarations?.[0];
  if (decl === undefined) return { code: name, table: [] };
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;
  if (ts.isFunctionDeclaration(decl)) {
    const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
    const code = type
      .getCallSignatures()
      .map((sig) => `function ${name}${checker.signatureToString(sig, decl, flags)}`)
      .join('\n');
    return { code, table: [] };
  }
  if (ts.isInterfaceDeclaration(decl)) {
    return { code: `interface ${name}`, table: membersTable(checker.getDeclaredTypeOfSymbol(symbol), checker, decl) };
  }
  if (ts.isTypeAliasDeclaration(decl)) {
    const printed = ts.createPrinter({ removeComments: true }).printNode(ts.EmitHint.Unspecified, decl, decl.getSourceFile());
    return { code: printed.replace(/^export /, ''), table: [] };
  }
  if (ts.isClassDeclaration(decl)) {
    const heritage = decl.heritageClauses?.map((h) => h.getText()).join(' ') ?? '';
    return { code: `class ${name} ${heritage}`.trim(), table: [] };
  }
  const type = checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, decl), decl, flags);
  return { code: `const ${name}: ${type}`, table: [] };
}

/** The subpath entry points and their source files (package.json `exports`); the root re-exports them all. */
export const SUBPATH_ENTRIES = {
  'throughline/core': 'src/core.ts',
  'throughline/express': 'middleware/index.ts',
  'throughline/shutdown': 'src/shutdown.ts',
  'throughline/telemetry': 'src/telemetry.ts',
} as const;

/** The markdown of docs/api.md. */
export function renderApiReference(): string {
  const subpaths = Object.entries(SUBPATH_ENTRIES).map(([name, file]) => [name, fileURLToPath(new URL(`../../${file}`, import.meta.url))] as const);
  const program = ts.createProgram([entry, ...subpaths.map(([, file]) => file)], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2024,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (source === undefined) throw new Error(`cannot read ${entry}`);
  const out = [
    '# API reference',
    '',
    'Every export of `throughline`, generated from the source (`npm run docs:api`); a test fails when this file and the code disagree. Each one also comes from a lighter subpath entry point, named under it ([architecture](architecture.md#entry-points)). Guides: [getting started](getting-started.md), [context pitfalls](context-pitfalls.md), [Kubernetes](kubernetes.md), [metrics](metrics.md).',
    '',
  ];
  // Which subpath entry exports each name, so the reference says where to import it from.
  const entryOf = new Map<string, string>();
  for (const [name, file] of subpaths) {
    for (const statement of program.getSourceFile(file)?.statements ?? []) {
      if (!ts.isExportDeclaration(statement) || statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) continue;
      for (const element of statement.exportClause.elements) entryOf.set(element.name.text, name);
    }
  }
  const toc: string[] = [];
  const body: string[] = [];
  // GitHub's anchors: lower case, punctuation dropped, spaces as hyphens, and
  // -1, -2 ... on repeats in document order (the function logFields and the
  // interface LogFields share a slug).
  const seen = new Map<string, number>([['api-reference', 1]]);
  const anchor = (heading: string) => {
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    return count === 0 ? slug : `${slug}-${count}`;
  };
  for (const [, file] of subpaths) {
   const source = program.getSourceFile(file)!;
   // The file's own header (everything before its first blank line) is not a section.
   const headerEnd = source.text.indexOf('\n\n');
   for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) continue;
    const comments = ts.getLeadingCommentRanges(source.text, statement.getFullStart()) ?? [];
    for (const range of comments) {
      if (range.pos < headerEnd) continue;
      const heading = source.text.slice(range.pos, range.end).replace(/^\/\/\s*/, '').trim();
      body.push(`## ${heading}`, '');
      anchor(heading);
      toc.push(`- ${heading}`);
    }
    for (const element of statement.exportClause.elements) {
      const name = element.name.text;
      const local = checker.getSymbolAtLocation(element.name);
      if (local === undefined) continue;
      const symbol = (local.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(local) : local;
      const { code, table } = signatureOf(name, symbol, checker);
      const { text, examples } = docOf(symbol, checker);
      toc.push(`  - [\`${name}\`](#${anchor(name)})`);
      body.push(`### ${name}`, '', '```typescript', code, '```', '');
      const from = entryOf.get(name);
      if (from !== undefined) body.push(`Import from \`${from}\` (or \`throughline\`).`, '');
      if (text !== '') body.push(text, '');
      if (table.length > 0) body.push(...table, '');
      for (const example of examples) body.push('Example:', '', '```typescript', example, '```', '');
    }
   }
  }
  return `${[...out, ...toc, '', ...body].join('\n').trimEnd()}\n`;
}

if (process.argv.includes('--write')) {
  writeFileSync(API_REFERENCE_PATH, renderApiReference());
  process.stdout.write(`wrote ${API_REFERENCE_PATH}\n`);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(readFileSync(API_REFERENCE_PATH, 'utf8') === renderApiReference() ? 'docs/api.md is up to date\n' : 'docs/api.md is stale\n');
}
