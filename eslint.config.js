// ESLint: the recommended JavaScript and TypeScript rules over src/ and test/.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.tap/', 'node_modules/', 'migrations/', '.migrations-check/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Business code takes the injected Clock; only the clock module may read the system time.
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name='Date'][arguments.length=0]",
        message: 'Use the injected Clock (app.clock.now()) instead of new Date().'
      }, {
        selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
        message: 'Use the injected Clock instead of Date.now().'
      }],
      // Configuration is read once, validated, in src/config.ts.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through loadConfig().' }]
    }
  },
  {
    files: ['src/shared/clock.ts', 'test/**', 'src/scripts/**'],
    rules: { 'no-restricted-syntax': 'off' }
  },
  {
    files: ['src/config.ts', 'test/**'],
    rules: { 'no-restricted-properties': 'off' }
  }
)
