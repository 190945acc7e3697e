// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeOnly = ['Buffer', 'process', 'require', '__dirname', '__filename', 'global', 'setImmediate'];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/coverage/**',
      '**/node_modules/**',
      'packages/test-fixtures/src/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      // One program for the whole repository: packages resolve each other's sources through the
      // root tsconfig's paths, so linting never depends on stale or missing builds.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      '@typescript-eslint/no-invalid-void-type': ['error', { allowAsThisParameter: true }],
    },
  },
  {
    // Runtime code must run unchanged in browsers: only the WebAssembly JS API and web-platform APIs.
    files: ['packages/*/src/**/*.ts'],
    ignores: [
      'packages/*/src/**/*.test.ts',
      'packages/sandbox/src/cli/**',
      // Node-only helpers of the sandbox (`@ri-sandbox/sandbox/node`): the file system, by design.
      'packages/sandbox/src/node/**',
      // The Node entry of the worker pool and its worker script: worker_threads, by design.
      'packages/worker/src/node.ts',
      'packages/worker/src/worker-node.ts',
    ],
    rules: {
      'no-restricted-globals': [
        'error',
        ...nodeOnly.map((name) => ({ name, message: `${name} is Node-only; runtime code must be portable` })),
      ],
      'no-restricted-imports': [
        'error',
        {
          // Exact names for the bare built-ins: a pattern such as 'fs' would also match a module's own ./fs.
          paths: ['fs', 'path', 'os', 'crypto', 'child_process', 'worker_threads'].map((name) => ({
            name,
            message: 'Node built-ins are not allowed in runtime code',
          })),
          patterns: [{ group: ['node:*'], message: 'Node built-ins are not allowed in runtime code' }],
        },
      ],
    },
  },
  {
    // V8 11 (Node 20) gives an object literal that starts with a spread and goes on (`{ ...a, b }`,
    // `{ ...a, ...b }`) a hidden class of its own at every evaluation: 0.3 to 1 µs, and a map that old
    // space keeps with whatever it points to until the next full collection. In a snapshot loop that
    // held every snapshot's buffers and made glibc hand their pages back and fault them in again.
    files: ['packages/*/src/**/*.ts'],
    // The command line runs once per process.
    ignores: ['packages/*/src/**/*.test.ts', 'packages/sandbox/src/cli/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression > SpreadElement:first-child ~ *',
          message:
            'A leading spread followed by more members makes a new hidden class per evaluation in V8 11: list the properties, or use Object.assign({}, a, { b }).',
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'scripts/**', 'examples/**', 'packages/*/scripts/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        TextDecoder: 'readonly',
        WebAssembly: 'readonly',
        performance: 'readonly',
      },
    },
  },
);
