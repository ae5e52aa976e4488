// ESLint 9 flat config. Syntax-level typescript-eslint rules everywhere (type-aware linting is
// left to `tsc`, which verify runs anyway, so lint stays fast); the Lit, web-component and
// accessibility plugins only where Lit templates and custom elements live (src/).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import litPlugin from 'eslint-plugin-lit';
import litA11yPlugin from 'eslint-plugin-lit-a11y';
import wcPlugin from 'eslint-plugin-wc';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const widget = ['src/**/*.ts'];
const nodeSide = [
  'server/**/*.{ts,js,mjs}',
  'scripts/**/*.{ts,js,mjs}',
  'e2e/**/*.{ts,js,mjs}',
  'testing/**/*.{ts,js,mjs}',
  'bench/**/*.{ts,js,mjs}',
  'test/node/**/*.{ts,js,mjs}',
  'bin/**/*.{js,mjs}',
  '*.{js,mjs,cjs,ts}',
];

export default defineConfig([
  globalIgnores([
    'dist/',
    'node_modules/',
    'coverage/',
    'bench/results/',
    'e2e/.artifacts/',
    'custom-elements.json',
  ]),

  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // Same convention as tsc's noUnusedParameters: a leading underscore marks "unused on purpose".
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },

  {
    files: widget,
    languageOptions: { globals: globals.browser },
    settings: { wc: { elementBaseClasses: ['LitElement'] } },
  },
  { files: widget, ...litPlugin.configs['flat/recommended'] },
  { files: widget, ...wcPlugin.configs['flat/best-practice'] },
  {
    // LitElement implements every lifecycle callback, so an unguarded super call cannot throw.
    files: widget,
    rules: { 'wc/guard-super-call': 'off' },
  },
  { files: widget, ...litA11yPlugin.configs.recommended },
  {
    // The widget must stay CSP-safe (see STYLE.md): no string-to-code anywhere in it.
    files: widget,
    rules: { 'no-eval': 'error', 'no-implied-eval': 'error', 'no-new-func': 'error' },
  },

  {
    files: ['demo/**/*.{js,mjs}'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: nodeSide,
    languageOptions: { globals: globals.node },
  },
  {
    // The wire formats run in both: only what browsers and Node share.
    files: ['protocol/**/*.ts'],
    languageOptions: { globals: globals['shared-node-browser'] },
  },
]);
