// Type-aware lint: catches what the compiler does not (a promise nobody awaits, an unused value, an `any`
// leaking into typed code). `npm run lint`; .ci/run runs it too.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Async functions without an await are how an implementation meets an async interface here.
      '@typescript-eslint/require-await': 'off',
      // discord-api-types' numeric enums are compared with the numbers the wire carries, on purpose.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // A closure that reads a variable set later (a callback registered before the value exists) needs `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['tests/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.any, expect.stringMatching) and JSON.parse of captured logs are `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Event handlers of the real discord.js client in tests are async on purpose; a failure fails the test.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
);
