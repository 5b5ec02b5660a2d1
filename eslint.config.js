// Lint with type information so promise mistakes (the bugs that lose spans and
// jobs) are caught: no-floating-promises and no-misused-promises are errors.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.tmp/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Re-export names explicitly (STYLE.md: no export *).' },
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports (STYLE.md).' },
      ],
    },
  },
  {
    // Layering (docs/architecture.md): the core never knows Express. The root
    // entry is the one exception: it re-exports everything, middleware included.
    files: ['src/**/*.ts'],
    ignores: ['src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/middleware/**', '../middleware', '../../middleware'], message: 'src/ must not import middleware/ (docs/architecture.md).' },
            { group: ['express', 'express/*', 'express4'], message: 'src/ must not import Express (docs/architecture.md).' },
          ],
        },
      ],
    },
  },
  {
    // Process-wide mutable state lives in src/internal/state.ts, where the
    // testing reset can reach it: no module-level `let`, and no empty
    // collection at module level (a registry in disguise).
    files: ['src/**/*.ts', 'middleware/**/*.ts'],
    ignores: ['src/internal/state.ts', '**/*.d.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Re-export names explicitly (STYLE.md: no export *).' },
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports (STYLE.md).' },
        {
          selector: ':matches(Program, ExportNamedDeclaration) > VariableDeclaration[kind="let"]',
          message: 'Module-level mutable state belongs in src/internal/state.ts (docs/architecture.md).',
        },
        {
          selector: ':matches(Program, ExportNamedDeclaration) > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet|Array)$/][arguments.length=0]',
          message: 'A module-level collection is process state: put it in src/internal/state.ts (docs/architecture.md).',
        },
      ],
    },
  },
  {
    // The root entry is the union of the subpath entries, each of which names
    // its exports: re-exporting them whole keeps one list per name.
    files: ['src/index.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Ambient declarations for untyped modules must mirror their default export.
    files: ['**/*.d.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
