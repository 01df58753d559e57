// Lint, and the dependency rule of DESIGN §3 as `no-restricted-imports`: a wrong import
// between modules fails `npm test`.
import tseslint from 'typescript-eslint';

const node = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'crypto',
  'http',
  'https',
  'net',
  'stream',
  'zlib',
  'url',
  'util',
];
const heavy = ['@tensorflow/*', 'onnxruntime-node', 'onnxruntime-*', 'sharp', 'onnx-proto', 'protobufjs', 'webgpu'];
const restrict = (message, groups) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
});
const layer = (name) => [`**/${name}`, `**/${name}/**`];
/** Several groups, each with its own message. */
const restrictAll = (rules) => ({
  'no-restricted-imports': ['error', { patterns: rules.map(([message, group]) => ({ group, message })) }],
});
const hostRule = [
  'the extension host never loads tfjs, ONNX Runtime, sharp or engine code: talk to the worker through src/protocol (DESIGN §2–3)',
  [...heavy, ...layer('model'), ...layer('io'), ...layer('engine'), ...layer('cli')],
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      '.vscode-test/**',
      'test-results/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/model/**/*.ts'],
    rules: restrict('src/model is pure tfjs: no Node APIs, no I/O, no engine/editor code (DESIGN §3)', [
      ...node,
      'vscode',
      'sharp',
      'onnxruntime-node',
      'onnxruntime-*',
      'webgpu',
      ...layer('io'),
      ...layer('engine'),
      ...layer('cli'),
      ...layer('commands'),
      ...layer('views'),
      ...layer('services'),
      '**/protocol/*',
      '!**/protocol/errors',
      '**/extension',
    ]),
  },
  {
    files: ['src/io/**/*.ts'],
    rules: restrict(
      'src/io reads and writes files with sharp and Node; it may use model types but not tfjs, ONNX Runtime or editor code (DESIGN §3)',
      [
        'vscode',
        '@tensorflow/*',
        'onnxruntime-node',
        'onnxruntime-*',
        'webgpu',
        '**/model/tf',
        ...layer('engine'),
        ...layer('cli'),
        ...layer('commands'),
        ...layer('views'),
        ...layer('services'),
        '**/extension',
      ],
    ),
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: restrict('src/engine runs in the worker: no vscode, no editor code (DESIGN §3)', [
      'vscode',
      ...layer('cli'),
      ...layer('commands'),
      ...layer('views'),
      ...layer('services'),
      '**/extension',
    ]),
  },
  {
    files: ['src/cli/**/*.ts'],
    // The editor's src/commands by relative path: src/cli/commands is the CLI's own folder.
    rules: restrict('the CLI is the engine without VS Code (DESIGN §3)', [
      'vscode',
      '../commands',
      '../commands/**',
      '../../commands',
      '../../commands/**',
      ...layer('views'),
      ...layer('services'),
      '**/extension',
    ]),
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: restrict('src/protocol holds message types and guards only: no runtime dependencies (DESIGN §3)', [
      ...node,
      'vscode',
      ...heavy,
      ...layer('model'),
      ...layer('io'),
      ...layer('engine'),
      ...layer('cli'),
      ...layer('commands'),
      ...layer('views'),
      ...layer('services'),
      '**/extension',
    ]),
  },
  {
    files: ['src/extension.ts', 'src/commands/**/*.ts', 'src/views/**/*.ts', 'src/services/**/*.ts'],
    rules: restrictAll([hostRule]),
  },
  // Later entries replace the rule for their files, so each repeats the host's restriction.
  {
    files: ['src/views/**/*.ts'],
    rules: restrictAll([
      hostRule,
      [
        'views never import commands: what both need lives in src/services (the command context) or src/protocol (DESIGN §3)',
        layer('commands'),
      ],
    ]),
  },
  {
    files: ['src/commands/**/*.ts'],
    rules: restrictAll([
      hostRule,
      [
        'commands never import views: they reach the status bar and the gallery through the command context in src/services (DESIGN §3)',
        layer('views'),
      ],
    ]),
  },
  {
    files: ['src/services/**/*.ts'],
    rules: restrictAll([
      hostRule,
      ['services serve commands and views and import neither (DESIGN §3)', [...layer('commands'), ...layer('views')]],
    ]),
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: restrict(
      'src/shared is pure code every layer (the webview too) may use: no imports but its own (DESIGN §3, amended)',
      [
        ...node,
        'vscode',
        ...heavy,
        ...layer('model'),
        ...layer('io'),
        ...layer('engine'),
        ...layer('cli'),
        ...layer('commands'),
        ...layer('views'),
        ...layer('services'),
        ...layer('protocol'),
        '**/extension',
      ],
    ),
  },
  {
    files: ['webview/**/*.ts'],
    rules: restrict('the webview is browser code: it may import protocol types and src/shared only (DESIGN §3)', [
      ...node,
      'vscode',
      ...heavy,
      ...layer('model'),
      ...layer('io'),
      ...layer('engine'),
      ...layer('cli'),
      ...layer('commands'),
      ...layer('views'),
      ...layer('services'),
      '**/extension',
    ]),
  },
);
