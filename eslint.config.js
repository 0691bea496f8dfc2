// Lint: correctness (typescript-eslint), size limits, no import cycles, the layer boundaries of
// docs/architecture.md, and the house style (@stylistic, enforced as lint so `npm run format`
// fixes it with `eslint --fix`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import stylistic from '@stylistic/eslint-plugin';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** `from` folders that files in `target` may not import */
const boundaries = [
  // config is the bottom: it takes a schema and knows nothing of the rest
  { target: './src/config', from: ['./src/app', './src/edge', './src/gateway', './src/identity', './src/upstream', './src/state', './src/net', './src/observability', './src/apim'] },
  { target: './src/observability', from: ['./src/app', './src/edge', './src/gateway', './src/identity', './src/upstream', './src/state', './src/net', './src/apim'] },
  { target: './src/net', from: ['./src/app', './src/edge', './src/gateway', './src/identity', './src/upstream', './src/state', './src/apim'] },
  { target: './src/state', from: ['./src/app', './src/edge', './src/gateway', './src/identity', './src/upstream', './src/apim'] },
  { target: './src/upstream', from: ['./src/app', './src/edge', './src/gateway', './src/identity', './src/apim'] },
  { target: './src/apim', from: ['./src/app', './src/edge', './src/gateway', './src/identity', './src/state'] },
  // identity never imports the gateway (they share net, state, config, observability)
  { target: './src/identity', from: ['./src/app', './src/edge', './src/gateway', './src/upstream', './src/apim'] },
  { target: './src/gateway', from: ['./src/app', './src/edge', './src/identity'] },
  { target: './src/edge', from: ['./src/app', './src/identity'] },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'docs/**', 'examples/**/*.mjs', 'scripts/*.mjs', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX, '@stylistic': stylistic },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: boundaries.map((z) => ({ ...z, message: 'this import crosses a layer boundary (see docs/architecture.md)' })) }],
      '@stylistic/semi': ['error', 'always'],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
      '@stylistic/comma-dangle': ['error', 'always-multiline'],
      '@stylistic/no-trailing-spaces': 'error',
      '@stylistic/eol-last': 'error',
      '@stylistic/no-multiple-empty-lines': ['error', { max: 1, maxEOF: 0 }],
      '@stylistic/indent': ['error', 2, { SwitchCase: 1, ignoredNodes: ['ConditionalExpression *', 'TemplateLiteral *'] }],
      '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
      '@stylistic/keyword-spacing': 'error',
      '@stylistic/space-infix-ops': 'error',
      '@stylistic/arrow-parens': ['error', 'always'],
    },
  },
  {
    // the portal's, the console's and the quickstart demo app's browser code (plain ES modules, served as they are)
    files: ['web/**/*.js', 'examples/quickstart/demo-app/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['window', 'document', 'location', 'history', 'fetch', 'sessionStorage', 'crypto', 'TextEncoder', 'URL', 'URLSearchParams', 'btoa', 'atob', 'escape', 'Node', 'TextDecoder', 'Uint8Array'].map((g) => [g, 'readonly'])),
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
);
