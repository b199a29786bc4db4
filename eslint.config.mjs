// Flat config: typescript-eslint's recommended rules over the sources, tests and benchmarks, and, with type
// information (as Temporal's samples lint), the rules that catch what types alone cannot: a promise nobody
// awaits (an activity or signal that silently never runs or whose failure is lost), and deprecated APIs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'readonly',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-deprecated': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no real clock or I/O.
    files: ['src/workflows/**/*.ts', 'src/order/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                'fs',
                'path',
                'http',
                'https',
                'got',
                'pino',
                'nodemailer',
                '**/activities',
                '**/activities/*',
                '!**/activities/types',
                '**/alma',
                '**/alma/*',
                '**/mail',
                '**/mail/*',
                '**/config/load',
              ],
              message: 'Workflows must not import I/O modules (use types-only imports for activities).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
